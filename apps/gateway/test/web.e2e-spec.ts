import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import type { AppProcess } from '#launcher';
import { AppStack } from '../../../test/support/app-stack.js';
import { launchChromium } from '../../../test/support/chromium.js';
import { grpcMethod, metricSum } from '../../../test/support/metrics.js';

/** Where each step's screenshot goes (git-ignored). */
const SCREENSHOTS = fileURLToPath(new URL('../../../screenshots/web/', import.meta.url));

/**
 * The shapes of the page's elements the checks below read. This file is
 * type-checked for Node (no DOM lib); the functions run in the browser.
 */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): ImageData };
}
interface ImageData {
  data: Uint8ClampedArray;
}
interface ProgressLike {
  value: number;
  hidden: boolean;
}

describe('the web page, in chromium, against the real apps', () => {
  let stack: AppStack;
  let work: string;
  let cheese: AppProcess;
  let soccer: AppProcess;
  let base: string;
  let soccerMetrics: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await AppStack.start({ cheese: {}, soccer: {} });
    ({ work, soccerMetrics } = stack);
    cheese = stack.cheese!;
    soccer = stack.soccer!;
    base = `${stack.origin}/`;
    browser = await launchChromium(join(work, 'profile'), {
      viewport: { width: 1280, height: 860 },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Errors thrown in each open page, checked when it is closed. */
  const pageErrors = new Map<Page, string[]>();

  /** A new tab on the page, once the match list has loaded. */
  async function openPage(): Promise<Page> {
    const page = await browser.newPage();
    const errors: string[] = [];
    pageErrors.set(page, errors);
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(base);
    await page.locator('button.match').first().waitFor();
    return page;
  }

  async function closePage(page: Page): Promise<void> {
    await page.close();
    expect(pageErrors.get(page), 'errors thrown in the page').toEqual([]);
    pageErrors.delete(page);
  }

  function screenshot(page: Page, name: string): Promise<Buffer> {
    return page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  async function frameCount(page: Page): Promise<number> {
    return Number(await page.locator('#player-frames').textContent());
  }

  const WATCH = grpcMethod('stream.Soccer', 'Watch');

  /** soccer-service's count of open Watch streams. */
  function activeWatches(): Promise<number> {
    return metricSum(soccerMetrics, 'grpc_server_active_streams', WATCH);
  }

  /** soccer-service's count of Watch streams ended by their client going away. */
  function cancelledWatches(): Promise<number> {
    return metricSum(soccerMetrics, 'grpc_server_handled_total', {
      ...WATCH,
      grpc_code: 'CANCELLED',
    });
  }

  /** How many distinct colours a grid of samples of the canvas has (1 for a blank one). */
  function canvasColours(page: Page): Promise<number> {
    return page.locator('#player-canvas').evaluate((canvas: CanvasLike) => {
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 4 * 97) {
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
      return colours.size;
    });
  }

  it('serves the page and its files; other paths still get the API 404', async () => {
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/assets/main.js">');
    for (const asset of ['assets/main.js', 'assets/styles.css', 'assets/favicon.svg']) {
      expect((await fetch(`${base}${asset}`)).status, asset).toBe(200);
    }
    const missing = await fetch(`${base}assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 5, status: 'NOT_FOUND' });
    // Fastify's own errors keep the API's body with the static plugin loaded.
    const badJson = await fetch(`${base}v1/cheese/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":',
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ code: 3, status: 'INVALID_ARGUMENT' });
  });

  it('orders a cheese and shows it with its age', async () => {
    const page = await openPage();
    const result = page.locator('#cheese-result');
    expect(await result.getAttribute('aria-live')).toBe('polite');
    await page.getByLabel('Cheese', { exact: true }).selectOption('BRIE');
    await page.getByRole('button', { name: 'Order', exact: true }).click();
    await result.getByText('Brie').waitFor();
    expect(await result.textContent()).toMatch(/Aged \d+ days/);
    await screenshot(page, '01-cheese-ordered');
    await closePage(page);
  });

  it('watches the live match: frames counted and drawn; Stop cancels the gRPC stream', async () => {
    const cancelledBefore = await cancelledWatches();
    const page = await openPage();
    await page.getByRole('button', { name: /^live/ }).click();
    await expect.poll(() => frameCount(page)).toBeGreaterThan(30);
    expect(await canvasColours(page)).toBeGreaterThan(5);
    expect(await page.locator('#player-canvas').evaluate((c: CanvasLike) => c.width)).toBe(640);
    const fps = Number(await page.locator('#player-fps').textContent());
    expect(fps).toBeGreaterThan(5);
    expect(fps).toBeLessThan(40);
    expect(await activeWatches()).toBe(1);
    await screenshot(page, '02-live-playing');

    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByText(/Stopped after \d+ frames/).waitFor();
    const stoppedAt = await frameCount(page);
    // Once soccer-service has seen the cancel, no frame of that stream is left to count.
    await expect.poll(activeWatches).toBe(0);
    expect((await cancelledWatches()) - cancelledBefore).toBe(1);
    expect(await frameCount(page)).toBe(stoppedAt);
    await screenshot(page, '03-live-stopped');

    // Play starts a new stream; leaving the page closes it too.
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await expect.poll(() => frameCount(page)).toBeGreaterThan(5);
    expect(await activeWatches()).toBe(1);
    await closePage(page);
    await expect.poll(activeWatches).toBe(0);
  });

  it('two pages chat with each other about a match, each over one WebSocket', async () => {
    const ana = await openPage();
    const ben = await openPage();
    const sockets: string[] = [];
    for (const page of [ana, ben]) page.on('websocket', (socket) => sockets.push(socket.url()));
    for (const [page, name] of [
      [ana, 'ana'],
      [ben, 'ben'],
    ] as const) {
      await page.getByRole('button', { name: /^demo/ }).click();
      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      await page.getByLabel('Your name').fill(name);
      await page.getByRole('button', { name: 'Join', exact: true }).click();
      await page.getByText(`You are ${name}.`).waitFor();
    }
    const anaLog = ana.getByRole('log', { name: 'Chat messages' });
    const benLog = ben.getByRole('log', { name: 'Chat messages' });
    await anaLog.getByText('ben joined').waitFor();

    await ana.getByLabel('Your message').fill('What a goal!');
    await ana.getByLabel('Your message').press('Enter');
    await benLog.locator('.message', { hasText: 'What a goal!' }).getByText('ana').waitFor();
    await anaLog.locator('.message.own', { hasText: 'What a goal!' }).waitFor();

    await ben.getByLabel('Your message').fill('Offside, surely.');
    await ben.getByRole('button', { name: 'Send', exact: true }).click();
    await anaLog.locator('.message', { hasText: 'Offside, surely.' }).getByText('ben').waitFor();
    await expect.poll(() => ben.getByLabel('Your message').inputValue()).toBe('');
    const socketUrl = (user: string) =>
      `${base.replace('http:', 'ws:')}v1/matches/demo/chat?user=${user}`;
    expect(sockets.sort()).toEqual([socketUrl('ana'), socketUrl('ben')]);
    await screenshot(ana, '04-chat-ana');
    await screenshot(ben, '05-chat-ben');

    await ben.getByRole('button', { name: 'Leave', exact: true }).click();
    await anaLog.getByText('ben left').waitFor();
    await Promise.all([closePage(ana), closePage(ben)]);
  });

  it('uploads an mp4 with a progress bar, lists it and plays it to its end', async () => {
    const video = join(work, 'cup-final.mp4');
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', 'testsrc2=size=320x180:rate=25', '-t', '2', '-pix_fmt', 'yuv420p', video],
    ]);
    const page = await openPage();
    // A slow uplink, so the upload takes long enough to watch its progress.
    const cdp = await browser.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 32 * 1024,
    });

    await page.getByLabel('Video file (mp4)').setInputFiles(video);
    expect(await page.getByLabel('Match id').inputValue()).toBe('cup-final');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const bar = page.locator('#upload-progress');
    await expect
      .poll(() => bar.evaluate((b: ProgressLike) => (b.hidden ? 0 : b.value)))
      .toBeGreaterThan(0.2);
    expect(await bar.evaluate((b: ProgressLike) => b.value)).toBeLessThan(1);
    await screenshot(page, '06-upload-progress');
    await page.getByText('Stored "cup-final"').waitFor({ timeout: 60_000 });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });

    const match = page.getByRole('button', { name: /^cup-final/ });
    expect(await match.textContent()).toContain('320×180');
    await match.click();
    await expect.poll(() => frameCount(page)).toBeGreaterThan(10);
    expect(await page.locator('#player-canvas').evaluate((c: CanvasLike) => c.width)).toBe(320);
    expect(await canvasColours(page)).toBeGreaterThan(5);
    await screenshot(page, '07-upload-playing');
    // At `end` the page closes the EventSource: no reconnect, no second run.
    const fullTime = page.getByText(/Full time: cup-final ended after \d+ frames/);
    await fullTime.waitFor({ timeout: 30_000 });
    const frames = Number(/after (\d+) frames/.exec((await fullTime.textContent())!)![1]);
    expect(frames).toBeGreaterThan(10);
    expect(frames).toBeLessThanOrEqual(50); // 2 s at 25 fps
    // Once soccer-service's stream is over, no frame is left to count.
    await expect.poll(activeWatches).toBe(0);
    expect(await frameCount(page)).toBe(frames);
    expect(await page.getByRole('button', { name: 'Play', exact: true }).isVisible()).toBe(true);
    await expect.poll(() => soccer.logMessages).toMatch(/Watch "cup-final" \w+ after \d+ frames/);
    await screenshot(page, '08-upload-ended');
    await closePage(page);
  });

  it('shows API errors in words (cheese-service down)', async () => {
    const page = await openPage();
    await cheese.stop();
    await page.getByRole('button', { name: 'Order', exact: true }).click();
    await page.getByText(/Could not order: .*\(UNAVAILABLE, HTTP 503\)/).waitFor();
    await screenshot(page, '09-cheese-unavailable');
    await closePage(page);
  });
});
