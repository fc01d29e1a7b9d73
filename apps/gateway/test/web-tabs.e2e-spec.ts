import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { parsePrometheusText, sampleSum } from '#observability';
import { AppStack } from '../../../test/support/app-stack.js';
import { launchChromium } from '../../../test/support/chromium.js';

/** Tabs of one profile: more than the 6 HTTP/1.1 connections a browser opens per site. */
const TABS = 8;
/** The bar of issue 19: every tab draws at least this many frames in WINDOW_MS. */
const MIN_FRAMES = 50;
const WINDOW_MS = 5000;

/** The page's elements the checks read; this file is type-checked without the DOM lib. */
interface DocumentLike {
  getElementById(id: string): { textContent: string; dataset: Record<string, string | undefined> };
}
interface ResourceTiming {
  name: string;
  nextHopProtocol: string;
}

/**
 * The web page in many tabs of one Chromium profile, all watching `live`:
 * over plain HTTP/1.1 the tabs share one stream through the page's watch
 * worker; over HTTPS the listener speaks HTTP/2.
 */
describe.each([
  { protocol: 'http/1.1', tls: false },
  { protocol: 'h2', tls: true },
])('the web page in $protocol, 8 tabs of one profile', ({ protocol, tls }) => {
  let stack: AppStack;
  let base: string;
  let browser: BrowserContext;
  let ca: Buffer | undefined;
  const tabs: Page[] = [];

  beforeAll(async () => {
    stack = await AppStack.start({ cheese: {}, soccer: {}, tls });
    ({ ca } = stack);
    base = `${stack.origin}/`;
    browser = await launchChromium(join(stack.work, 'profile'), {
      // The development CA is not the browser's; what is checked here is the protocol.
      ignoreHTTPSErrors: tls,
      viewport: { width: 1024, height: 700 },
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Frames each tab has drawn since it pressed `live`. */
  function drawnFrames(pages: Page[]): Promise<number[]> {
    return Promise.all(
      pages.map((page) =>
        page.evaluate(() => {
          const doc = (globalThis as unknown as { document: DocumentLike }).document;
          return Number(doc.getElementById('player-canvas').dataset.framesDrawn ?? 0);
        }),
      ),
    );
  }

  /**
   * Frames each tab counts and draws in WINDOW_MS, measured by the tab's own
   * clock (the test's round trips to a loaded browser take long), and scaled
   * to WINDOW_MS should the tab's timer fire late.
   */
  async function framesInWindow(pages: Page[]): Promise<{ counted: number[]; drawn: number[] }> {
    const windows = await Promise.all(
      pages.map((page) =>
        page.evaluate(async (windowMs) => {
          const doc = (globalThis as unknown as { document: DocumentLike }).document;
          const read = () => ({
            counted: Number(doc.getElementById('player-frames').textContent),
            drawn: Number(doc.getElementById('player-canvas').dataset.framesDrawn ?? 0),
            at: (globalThis as unknown as { performance: { now(): number } }).performance.now(),
          });
          const before = read();
          await new Promise((resolve) => setTimeout(resolve, windowMs));
          const after = read();
          const scale = windowMs / (after.at - before.at);
          return {
            counted: Math.floor((after.counted - before.counted) * scale),
            drawn: Math.floor((after.drawn - before.drawn) * scale),
          };
        }, WINDOW_MS),
      ),
    );
    return {
      counted: windows.map((w) => w.counted),
      drawn: windows.map((w) => w.drawn),
    };
  }

  /**
   * Every tab counted the bar's frames in the window (its "Frames" figure,
   * as the issue counts them) and drew some: its picture moves. (A tab
   * draws the newest frame when it is free, so on a loaded machine it draws
   * fewer than it counts.)
   */
  function expectAllPlaying(
    { counted, drawn }: { counted: number[]; drawn: number[] },
    when: string,
  ) {
    const report = `${protocol}, ${when}: frames per tab in ${WINDOW_MS} ms: counted ${counted.join(' ')}; drawn ${drawn.join(' ')}`;
    console.log(report);
    expect(Math.min(...counted), report).toBeGreaterThanOrEqual(MIN_FRAMES);
    expect(Math.min(...drawn), report).toBeGreaterThan(0);
  }

  /** The gateway's open watch requests (SSE streams), from its own metrics. */
  async function openWatchStreams(): Promise<number> {
    const text = tls
      ? await httpsText(`${base}metrics`, ca!)
      : await (await fetch(`${base}metrics`)).text();
    return sampleSum(parsePrometheusText(text).samples, 'http_requests_in_flight', {
      method: 'GET',
      route: '/v1/matches/:id/watch',
    });
  }

  it(`every tab plays live, ≥ ${MIN_FRAMES} frames in ${WINDOW_MS / 1000} s`, async () => {
    for (let i = 0; i < TABS; i++) {
      const page = await browser.newPage();
      tabs.push(page);
      await page.goto(base, { timeout: 60_000 });
      await page.getByRole('button', { name: /^live/ }).click({ timeout: 60_000 });
    }
    // Started: every tab has drawn a frame (a tab that cannot open a stream never does).
    await expect
      .poll(async () => Math.min(...(await drawnFrames(tabs))), { timeout: 60_000 })
      .toBeGreaterThan(0);
    expectAllPlaying(await framesInWindow(tabs), 'all tabs');

    // The page, its files and its API calls, as the last tab loaded them.
    const protocols = await tabs[TABS - 1].evaluate(() =>
      (performance.getEntries() as unknown as ResourceTiming[])
        // (An empty protocol: taken from the browser's cache, no request made.)
        .filter((entry) => !!entry.nextHopProtocol)
        .map((entry) => `${new URL(entry.name).pathname} ${entry.nextHopProtocol}`),
    );
    expect(protocols.length).toBeGreaterThan(0);
    for (const line of protocols) expect(line).toMatch(new RegExp(` ${protocol}$`));
    // One stream for all tabs: the watch worker's.
    expect(await openWatchStreams()).toBe(1);
  }, 240_000);

  it('closing the first tab (the one that started the stream) keeps the others playing', async () => {
    const [first, ...others] = tabs;
    await first.close();
    expectAllPlaying(await framesInWindow(others), 'after closing the first tab');
    // Closing them all closes the stream.
    await Promise.all(others.map((page) => page.close()));
    await expect.poll(openWatchStreams, { timeout: 30_000 }).toBe(0);
  }, 120_000);
});

/** The body of an HTTPS GET, trusting `ca`. */
function httpsText(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca, servername: 'localhost' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}
