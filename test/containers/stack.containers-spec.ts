/**
 * docker-compose.yml, built and run for real: `npm run test:containers`
 * (test/containers/run.sh builds the images, serves the Docker API from podman,
 * ticks the health checks and always ends with `docker-compose down -v`).
 *
 * One stack, in order: up; what a user does, through the published gateway
 * port only; what holds inside the stack (users, read-only roots, mTLS, key
 * material, memory limits, log rotation); stop; up again scaled out; the gateway
 * on HTTPS (docker-compose.https.yml added); down -v.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { acceptsConnections } from '#launcher';
import { SseClient } from '../../apps/gateway/test/support/sse-client.js';
import {
  compose,
  decimalBytes,
  logSizeLimit,
  projectObjects,
  run,
  serviceContainers,
  type ContainerInfo,
} from './support/engine.js';
import { putFile, sha256 } from '../support/file-upload.js';

const PROJECT = requiredEnv('COMPOSE_PROJECT_NAME');
const GATEWAY_PORT = Number(requiredEnv('GATEWAY_PORT'));
const BASE = `http://127.0.0.1:${GATEWAY_PORT}`;
const APPS = ['cheese-service', 'soccer-service', 'gateway'] as const;
const SERVICES = ['cheese-service', 'soccer-service'] as const;
type App = (typeof APPS)[number];
const UPLOAD_ID = 'from-the-container-test';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run npm run test:containers`);
  return value;
}

/** What `docker-compose config` resolves, as far as the checks read it. */
interface ResolvedService {
  mem_limit?: string | number;
  logging?: { driver: string; options?: Record<string, string> };
  stop_grace_period?: string;
}

/** Bytes of a compose size such as `256m`. */
function bytes(size: string | number): number {
  if (typeof size === 'number') return size;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(size.trim());
  if (!match) throw new Error(`not a size: ${size}`);
  return Math.round(Number(match[1]) * 1024 ** ' kmg'.indexOf(match[2].toLowerCase() || ' '));
}

/**
 * `node --input-type=module -e <script>` in replica `index` of `service`; its stdout,
 * parsed. `podman exec` (the engine's), as `docker-compose exec -T --index` would do
 * it, without the seconds compose 1.29 takes to start on a busy host.
 */
async function nodeIn<T>(service: string, script: string, index = 1): Promise<T> {
  const replica = (await serviceContainers(PROJECT, service))[index - 1];
  if (!replica) throw new Error(`no replica ${index} of ${service}`);
  const { code, stdout, stderr } = await run(
    'podman',
    ['exec', replica.Id, 'node', '--input-type=module', '-e', script],
    60_000,
  );
  if (code !== 0) throw new Error(`node in ${service} #${index} exited ${code}:\n${stderr}`);
  return JSON.parse(stdout) as T;
}

/** The app container of `service` (replica 1). */
async function container(service: string): Promise<ContainerInfo> {
  const [first] = await serviceContainers(PROJECT, service);
  if (!first) throw new Error(`no container of ${service}`);
  return first;
}

/**
 * Waits until each service has its number of replicas running (and healthy where it
 * has a health check), and the certs one-shot has exited 0.
 */
async function waitForStack(replicas: Record<string, number>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states: string[] = [];
    let ready = true;
    const [certs] = await serviceContainers(PROJECT, 'certs');
    if (certs?.State.Status !== 'exited' || certs.State.ExitCode !== 0) ready = false;
    states.push(`certs ${certs?.State.Status} ${certs?.State.ExitCode}`);
    for (const [service, count] of Object.entries(replicas)) {
      const infos = await serviceContainers(PROJECT, service);
      const up = infos.filter(
        (info) => info.State.Running && (info.State.Health?.Status ?? 'healthy') === 'healthy',
      );
      if (up.length !== count) ready = false;
      states.push(
        `${service} ${infos.map((i) => `${i.State.Status}/${i.State.Health?.Status ?? '-'}`).join(',')}`,
      );
    }
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`stack not up in time: ${states.join('; ')}`);
    await sleep(2000);
  }
}

/**
 * A script for `nodeIn` that tries each target with each kind of credentials:
 * `plaintext`, `tls` (the CA, no client certificate) and `mtls` (the CA and a
 * client certificate: the files given). Prints target -> kind -> outcome:
 * `SERVING` (gRPC health asked over the connection the server took), or how
 * the server refused the connection: `refused: <TLS alert>`, `refused: closed`.
 *
 * The verdict is read from the handshake, not from a gRPC status: over TLS 1.3
 * the client's handshake ends before the server checks its certificate, so
 * grpc-js sees the refusal as a dropped connection and retries the call
 * unsent, and whether it ends UNAVAILABLE or DEADLINE_EXCEEDED is timing.
 */
function healthProbeScript(
  targets: string[],
  files: { ca: string; cert: string; key: string },
): string {
  return `
    import grpc from '@grpc/grpc-js';
    import { readFileSync } from 'node:fs';
    import { connect as connectTcp } from 'node:net';
    import { connect as connectTls } from 'node:tls';
    const read = (file) => readFileSync(file);
    const tls = { ca: read(${JSON.stringify(files.ca)}) };
    const mtls = { ...tls, key: read(${JSON.stringify(files.key)}), cert: read(${JSON.stringify(files.cert)}) };
    const kinds = {
      plaintext: { credentials: () => grpc.credentials.createInsecure() },
      tls: { tls, credentials: () => grpc.credentials.createSsl(tls.ca) },
      mtls: { tls: mtls, credentials: () => grpc.credentials.createSsl(mtls.ca, mtls.key, mtls.cert) },
    };
    // A server that took the connection sends its SETTINGS frame (type 4) at
    // once. Over TLS the client sends nothing: with no bytes of ours unread, a
    // refusal closes the connection cleanly rather than reset it. In plain
    // text, the HTTP/2 client preface is what a TLS server has to refuse.
    const preface = Buffer.concat([Buffer.from('PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
    const handshake = (target, options) => new Promise((resolve) => {
      const [host, port] = target.split(':');
      const socket = options
        ? connectTls({ host, port: Number(port), servername: host, ALPNProtocols: ['h2'], ...options })
        : connectTcp({ host, port: Number(port) });
      let answer = Buffer.alloc(0);
      const done = (outcome) => { clearTimeout(timer); socket.destroy(); resolve(outcome); };
      const timer = setTimeout(() => done('no answer in 30 s'), 30000);
      if (!options) socket.once('connect', () => socket.write(preface));
      socket.on('data', (bytes) => {
        answer = Buffer.concat([answer, bytes]);
        if (answer.length >= 9) done(answer[3] === 4 ? 'accepted' : 'refused: not HTTP/2');
      });
      socket.on('error', (err) => done('refused: ' + (err.code ?? err.message)));
      socket.on('close', () => done('refused: closed'));
    });
    const health = (target, credentials) => new Promise((resolve) => {
      const client = new grpc.Client(target, credentials);
      client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b) => b, (b) => b, Buffer.alloc(0),
        { deadline: Date.now() + 15000 }, (err, answer) => {
          client.close();
          // HealthCheckResponse { status = 1 (SERVING) }: bytes 08 01.
          resolve(err ? grpc.status[err.code] : answer.equals(Buffer.from([8, 1])) ? 'SERVING' : answer.toString('hex'));
        });
    });
    const out = {};
    for (const target of ${JSON.stringify(targets)}) {
      out[target] = {};
      for (const [kind, { tls, credentials }] of Object.entries(kinds)) {
        const taken = await handshake(target, tls);
        out[target][kind] = taken === 'accepted' ? await health(target, credentials()) : taken;
      }
    }
    console.log(JSON.stringify(out));
  `;
}

/** `metric{labels}` summed over the samples of `text` (Prometheus text format) whose labels match. */
function metricSum(text: string, metric: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== metric) continue;
    const has = Object.entries(labels).every(([k, v]) => match[2]?.includes(`${k}="${v}"`));
    if (has) sum += Number(match[3]);
  }
  return sum;
}

const metricsOf = (service: string, port: number, index: number) =>
  nodeIn<string>(
    service,
    `console.log(JSON.stringify(await (await fetch('http://127.0.0.1:${port}/metrics')).text()))`,
    index,
  );

const order = async (type: string) => {
  const res = await fetch(`${BASE}/v1/cheese/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type }),
  });
  return { status: res.status, body: (await res.json()) as { type?: string; age?: number } };
};

const matchIds = async () => {
  const res = await fetch(`${BASE}/v1/matches`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { matches: { id: string }[] }).matches.map((m) => m.id);
};

/** A chat member through the gateway: the SSE stream and its session id. */
async function joinChat(room: string, user: string) {
  const sse = await SseClient.open(`${BASE}/v1/matches/${room}/chat?user=${user}`);
  expect(sse.status).toBe(200);
  const joined = (await sse.next(30_000))!;
  expect(joined.event).toBe('joined');
  return { sse, sessionId: (JSON.parse(joined.data) as { sessionId: string }).sessionId };
}

async function say(room: string, sessionId: string, text: string) {
  const res = await fetch(`${BASE}/v1/matches/${room}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId, text }),
  });
  expect(res.status).toBe(202);
}

/** The texts of the next `count` chat messages (MESSAGE events) a member sees. */
async function heard(sse: SseClient, count: number): Promise<string[]> {
  const texts: string[] = [];
  while (texts.length < count) {
    const event = await sse.next(30_000);
    if (!event) throw new Error(`chat stream ended after ${JSON.stringify(texts)}`);
    const message = JSON.parse(event.data) as { event: string; text: string };
    if (message.event === 'MESSAGE') texts.push(message.text);
  }
  return texts.sort();
}

describe('docker-compose.yml on podman: the whole stack in containers', () => {
  let work: string;
  let video: string;
  let resolved: Record<string, ResolvedService>;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'containers-test-'));
    video = join(work, 'small.mp4');
    // prettier-ignore
    execFileSync('ffmpeg', [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2',
      '-pix_fmt', 'yuv420p', video,
    ]);
    resolved = (parse(await compose(['config'])) as { services: Record<string, ResolvedService> })
      .services;
    await compose(['up', '-d']);
    await waitForStack({ 'cheese-service': 1, 'soccer-service': 1, gateway: 1, redis: 1 });
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // A failed step shows every container's last log lines, before a later step removes them.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(async () => {
      const ps = await run('docker-compose', ['ps', '--all']);
      const logs = await run('docker-compose', ['logs', '--no-color', '--tail=30']);
      console.error(`${ps.stdout}\n${logs.stdout}${logs.stderr}`);
    });
  });

  it('comes up: the certs one-shot exits 0, the apps and Redis turn healthy', async () => {
    const certs = await container('certs');
    expect(certs.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    for (const service of [...APPS, 'redis']) {
      expect((await container(service)).State.Health?.Status, service).toBe('healthy');
    }
  });

  it('publishes only the gateway, on 127.0.0.1 (PUBLISH_ADDRESS)', async () => {
    for (const service of [...APPS, 'redis']) {
      const bindings = Object.values((await container(service)).HostConfig.PortBindings ?? {})
        .flat()
        .filter(Boolean);
      if (service === 'gateway') {
        expect(bindings).toEqual([
          expect.objectContaining({ HostIp: '127.0.0.1', HostPort: String(GATEWAY_PORT) }),
        ]);
      } else {
        expect(bindings, service).toEqual([]);
      }
    }
    expect(await acceptsConnections(GATEWAY_PORT)).toBe(true);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    expect(external.length, "this host's non-loopback addresses").toBeGreaterThan(0);
    for (const address of external) {
      expect(await acceptsConnections(GATEWAY_PORT, address), `${address}:${GATEWAY_PORT}`).toBe(
        false,
      );
    }
  });

  it('orders a cheese (gateway -> cheese-service over mTLS)', async () => {
    const { status, body } = await order('BRIE');
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: 'BRIE', age: expect.any(Number) });
  });

  it('lists the matches', async () => {
    expect(await matchIds()).toEqual(expect.arrayContaining(['demo', 'live']));
  });

  it('streams 25 SSE frames of the live match', async () => {
    const sse = await SseClient.open(`${BASE}/v1/matches/live/watch`);
    expect(sse.status).toBe(200);
    const frames: { seq: number; encoding: string; shape: string }[] = [];
    while (frames.length < 25) {
      const event = await sse.next(30_000);
      expect(event?.event).toBe('frame');
      frames.push(JSON.parse(event!.data) as (typeof frames)[number]);
    }
    sse.close();
    expect(frames[0]).toMatchObject({ encoding: 'JPEG', shape: '(360, 640, 3)' });
    expect(new Set(frames.map((f) => f.seq)).size).toBe(25);
  });

  it('uploads an mp4 made by ffmpeg, lists it and watches it (decoded in process by node-av in the image)', async () => {
    const answer = await putFile(`${BASE}/v1/matches/${UPLOAD_ID}/video`, video);
    expect(answer.status, answer.body).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ id: UPLOAD_ID, sha256: await sha256(video) });
    expect(await matchIds()).toContain(UPLOAD_ID);
    const sse = await SseClient.open(`${BASE}/v1/matches/${UPLOAD_ID}/watch?maxFrames=10&fps=0`);
    expect(sse.status).toBe(200);
    const events = await sse.until('end');
    const frames = events.filter((e) => e.event === 'frame');
    expect(frames).toHaveLength(10);
    expect(JSON.parse(frames[0].data)).toMatchObject({ encoding: 'JPEG', shape: '(240, 320, 3)' });
    // node-av's FFmpeg loaded in the distroless image: no fallback to an ffmpeg child.
    const logs = await compose(['logs', '--no-color', 'soccer-service']);
    expect(logs).toContain('video files decode in process (node-av)');
    expect(logs).not.toContain('node-av cannot load');
    expect(logs).not.toContain('video files decode in ffmpeg children');
  });

  it('node-av (FFmpeg’s libraries, ~200 MB) is in the soccer-service image only', async () => {
    const packages = ['node-av', '@seydx/node-av-linux-x64', 'werift'];
    for (const app of APPS) {
      const seen = await nodeIn<Record<string, boolean>>(
        app,
        `
        import { existsSync } from 'node:fs';
        const packages = ${JSON.stringify(packages)};
        console.log(JSON.stringify(Object.fromEntries(
          packages.map((name) => [name, existsSync('/app/node_modules/' + name)]))));
        `,
      );
      const present = app === 'soccer-service';
      expect(seen, app).toEqual(Object.fromEntries(packages.map((name) => [name, present])));
    }
  });

  it('two chat members see each other’s messages', async () => {
    const alice = await joinChat('containers', 'alice');
    const bob = await joinChat('containers', 'bob');
    await say('containers', alice.sessionId, 'hello from alice');
    await say('containers', bob.sessionId, 'hello from bob');
    const both = ['hello from alice', 'hello from bob'];
    expect(await heard(alice.sse, 2)).toEqual(both);
    expect(await heard(bob.sse, 2)).toEqual(both);
    alice.sse.close();
    bob.sse.close();
  });

  it('the web page, in Chromium, draws frames of the live match', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic'],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(120_000); // a busy CI host
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${BASE}/`);
      await page.getByRole('button', { name: /^live/ }).click();
      const frames = () => page.locator('#player-frames').textContent().then(Number);
      await expect.poll(frames, { timeout: 30_000 }).toBeGreaterThan(10);
      // Distinct colours over a grid of the canvas: 1 for a blank one.
      const colours = await page.locator('#player-canvas').evaluate((canvas: CanvasLike) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        const seen = new Set<number>();
        for (let i = 0; i < data.length; i += 4 * 97) {
          seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        }
        return seen.size;
      });
      expect(colours).toBeGreaterThan(5);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('every app runs as a non-root user on a read-only root file system', async () => {
    for (const app of APPS) {
      const info = await container(app);
      expect(info.HostConfig.ReadonlyRootfs, app).toBe(true);
      const writable = app === 'soccer-service' ? ['/tmp', '/app/media'] : ['/tmp'];
      // Root-owned directories: without read_only the write fails with EACCES instead.
      const paths = ['/', '/etc', '/app', '/app/dist', ...writable];
      const seen = await nodeIn<{ uid: number; pid1Uid: number; writes: Record<string, string> }>(
        app,
        `
        import { readFileSync, rmSync, writeFileSync } from 'node:fs';
        const writes = {};
        for (const dir of ${JSON.stringify(paths)}) {
          const file = dir.replace(/\\/$/, '') + '/.write-probe';
          try { writeFileSync(file, 'x'); rmSync(file); writes[dir] = 'written'; }
          catch (err) { writes[dir] = err.code; }
        }
        const pid1Uid = Number(/^Uid:\\s+(\\d+)/m.exec(readFileSync('/proc/1/status', 'utf8'))[1]);
        console.log(JSON.stringify({ uid: process.getuid(), pid1Uid, writes }));
        `,
      );
      expect(seen.uid, `${app}: uid of a process started in it`).not.toBe(0);
      expect(seen.pid1Uid, `${app}: uid of the app (PID 1)`).not.toBe(0);
      // EROFS, not EACCES: refused because the root is read-only, whatever the owner.
      expect(seen.writes, app).toEqual({
        '/': 'EROFS',
        '/etc': 'EROFS',
        '/app': 'EROFS',
        '/app/dist': 'EROFS',
        ...Object.fromEntries(writable.map((dir) => [dir, 'written'])),
      });
    }
  });

  it('the services take mutual TLS only: plaintext and TLS without a client certificate are refused', async () => {
    const targets = SERVICES.map((s) => `${s}:${s === 'cheese-service' ? 4000 : 4001}`);
    const seen = await nodeIn<Record<string, Record<string, string>>>(
      'gateway',
      healthProbeScript(targets, {
        ca: '/certs/ca.pem',
        cert: '/certs/client.pem',
        key: '/certs/client-key.pem',
      }),
    );
    for (const target of targets) {
      expect(seen[target], target).toEqual({
        plaintext: 'refused: closed',
        tls: 'refused: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
        mtls: 'SERVING',
      });
    }
  });

  it('each app holds only its own key material', async () => {
    // The files in /certs, and the names the server certificate (if any) is valid for.
    const certs = async (app: App) =>
      nodeIn<{ files: string[]; serverNames?: string }>(
        app,
        `
        import { X509Certificate } from 'node:crypto';
        import { existsSync, readdirSync, readFileSync } from 'node:fs';
        const files = readdirSync('/certs').sort();
        const serverNames = existsSync('/certs/server.pem')
          ? new X509Certificate(readFileSync('/certs/server.pem')).subjectAltName : undefined;
        console.log(JSON.stringify({ files, serverNames }));
        `,
      );
    // Each app's own server certificate (the gateway's for HTTPS): it cannot pass for another.
    const serverNames = (app: App) =>
      `DNS:${app}, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`;
    expect(await certs('gateway')).toEqual({
      files: ['ca.pem', 'client-key.pem', 'client.pem', 'server-key.pem', 'server.pem'],
      serverNames: serverNames('gateway'),
    });
    for (const service of SERVICES) {
      expect(await certs(service), service).toEqual({
        files: [
          'ca.pem',
          'client-ca.pem',
          'healthcheck-key.pem',
          'healthcheck.pem',
          'server-key.pem',
          'server.pem',
        ],
        serverNames: serverNames(service),
      });
    }
    // A service's health check certificate opens that service only: with it, the
    // other service refuses the handshake.
    for (const [service, other] of [SERVICES, [...SERVICES].reverse()]) {
      const port = (s: string) => (s === 'cheese-service' ? 4000 : 4001);
      const seen = await nodeIn<Record<string, Record<string, string>>>(
        service,
        healthProbeScript([`localhost:${port(service)}`, `${other}:${port(other)}`], {
          ca: '/certs/ca.pem',
          cert: '/certs/healthcheck.pem',
          key: '/certs/healthcheck-key.pem',
        }),
      );
      expect(seen[`localhost:${port(service)}`].mtls, `${service} -> itself`).toBe('SERVING');
      // (Node checks the certificate's CA after the handshake, and closes the connection.)
      expect(seen[`${other}:${port(other)}`].mtls, `${service} -> ${other}`).toBe(
        'refused: closed',
      );
    }
  });

  it('each app runs within the memory limit docker-compose.yml sets', async () => {
    for (const service of [...APPS, 'redis', 'certs']) {
      const limit = resolved[service].mem_limit;
      expect(limit, `${service}: mem_limit`).toBeDefined();
      expect((await container(service)).HostConfig.Memory, service).toBe(bytes(limit!));
    }
    for (const app of APPS) {
      // What the app itself sees (its cgroup), and sizes its heap by.
      const seen = await nodeIn<number>(app, 'console.log(process.constrainedMemory())');
      expect(seen, app).toBe(bytes(resolved[app].mem_limit!));
    }
  });

  it('rotates every container’s log: a busy gateway’s log file stays within max-size', async () => {
    const maxSize = resolved.gateway.logging?.options?.['max-size'];
    expect(maxSize).toBe(process.env.LOG_MAX_SIZE);
    const limit = decimalBytes(maxSize!);
    for (const service of [...APPS, 'redis', 'certs']) {
      expect(await logSizeLimit(await container(service)), service).toBe(limit);
    }
    const gateway = await container('gateway');
    expect(gateway.LogPath).toBeTruthy();
    // One log line per request, until the engine has rotated the file (it shrank).
    let largest = 0;
    let rotated = false;
    for (let requests = 0; !rotated && requests < 20_000; requests += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, () => fetch(`${BASE}/v1/cheeses`).then((res) => res.status)),
      );
      expect(batch.every((status) => status === 200)).toBe(true);
      const size = statSync(gateway.LogPath!).size;
      rotated = size < largest;
      largest = Math.max(largest, size);
    }
    const size = statSync(gateway.LogPath!).size;
    console.log(`gateway log file: up to ${largest} bytes, then ${size} (max-size ${maxSize})`);
    expect(rotated, 'the log file was rotated').toBe(true);
    // Podman reads max-size in decimal units, Docker in binary ones: the larger bound.
    expect(largest).toBeLessThanOrEqual(bytes(maxSize!));
  });

  it('docker-compose stop: each app exits 0 within its grace period and logs a clean shutdown', async () => {
    await compose(['stop']);
    for (const app of APPS) {
      const info = await container(app);
      // 137 would be the SIGKILL at the end of stop_grace_period.
      expect(info.State, app).toMatchObject({ Running: false, ExitCode: 0 });
      const logs = await compose(['logs', '--no-color', '--tail=30', app]);
      expect(logs, app).toMatch(/stopped in \d+ ms/);
    }
  });

  // Six containers (re)started one after the other, health checks every 10 s, a busy host.
  it('up -d again, scaled out to 2 replicas of each service: the uploaded match is still there', async () => {
    await compose(['up', '-d', '--scale', 'cheese-service=2', '--scale', 'soccer-service=2']);
    await waitForStack({ 'cheese-service': 2, 'soccer-service': 2, gateway: 1, redis: 1 });
    expect(await matchIds()).toContain(UPLOAD_ID);
  }, 600_000);

  it('the gateway spreads orders over both cheese-service replicas', async () => {
    for (let i = 0; i < 20; i++) expect((await order('PECORINO')).status).toBe(200);
    const counts = await Promise.all(
      [1, 2].map(async (index) =>
        metricSum(await metricsOf('cheese-service', 9400, index), 'grpc_server_handled_total', {
          grpc_method: 'Order',
          grpc_code: 'OK',
        }),
      ),
    );
    console.log(`orders per cheese-service replica: ${counts.join(', ')}`);
    expect(counts.every((n) => n > 0)).toBe(true);
    expect(counts[0] + counts[1]).toBeGreaterThanOrEqual(20);
  });

  it('chat members on different soccer-service replicas see each other through Redis', async () => {
    const membersPerReplica = async () =>
      Promise.all(
        [1, 2].map(async (index) =>
          metricSum(await metricsOf('soccer-service', 9401, index), 'soccer_chat_members'),
        ),
      );
    const alice = await joinChat('across', 'alice');
    let bob = await joinChat('across', 'bob');
    // Round robin puts consecutive calls on different replicas; join again until it has.
    for (let attempt = 0; attempt < 5; attempt++) {
      const members = await membersPerReplica();
      if (members[0] === 1 && members[1] === 1) break;
      bob.sse.close();
      await expect.poll(async () => (await membersPerReplica()).reduce((a, b) => a + b)).toBe(1);
      bob = await joinChat('across', 'bob');
    }
    expect(await membersPerReplica()).toEqual([1, 1]);
    await say('across', alice.sessionId, 'alice on one replica');
    await say('across', bob.sessionId, 'bob on the other');
    const both = ['alice on one replica', 'bob on the other'];
    expect(await heard(alice.sse, 2)).toEqual(both);
    expect(await heard(bob.sse, 2)).toEqual(both);
    alice.sse.close();
    bob.sse.close();
  });

  it('with docker-compose.https.yml added, the gateway serves HTTPS and h2 with its certificate, which the CA copied out verifies', async () => {
    const https = ['-f', 'docker-compose.yml', '-f', 'docker-compose.https.yml'];
    const scaled = ['--scale', 'cheese-service=2', '--scale', 'soccer-service=2'];
    await compose([...https, 'up', '-d', ...scaled]); // recreates the gateway only
    await waitForStack({ 'cheese-service': 2, 'soccer-service': 2, gateway: 1, redis: 1 });
    // The README's way out of the volume, for docker-compose 1.29: the engine's cp.
    const ca = join(work, 'cheese-farm-dev-ca.pem');
    const gateway = (await compose(['ps', '-q', 'gateway'])).trim();
    const copied = await run('podman', ['cp', `${gateway}:/certs/ca.pem`, ca]);
    expect(copied.code, copied.stderr).toBe(0);
    // prettier-ignore
    const curl = await run('curl', [
      '-sS', '--cacert', ca, '-w', '\n%{http_version}', '-H', 'content-type: application/json',
      '-d', '{"type":"BRIE"}', `https://localhost:${GATEWAY_PORT}/v1/cheese/orders`,
    ]);
    expect(curl.code, curl.stderr).toBe(0);
    const [body, httpVersion] = curl.stdout.split('\n');
    expect(httpVersion).toBe('2'); // h2 by ALPN: curl offers h2 and http/1.1
    expect(JSON.parse(body)).toMatchObject({ type: 'BRIE', age: expect.any(Number) });
    // Without the CA curl refuses the certificate; plain HTTP gets no answer on that port.
    const untrusted = await run('curl', ['-sS', `https://localhost:${GATEWAY_PORT}/healthz`]);
    expect(untrusted.code).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    await expect(fetch(`${BASE}/healthz`)).rejects.toThrow();
  }, 600_000);

  it('docker-compose down -v leaves no container, network or volume of the project', async () => {
    await compose(['down', '-v', '--timeout', '30']);
    expect(await projectObjects(PROJECT)).toEqual({ containers: [], networks: [], volumes: [] });
  });
});

/** The canvas, as far as the check in the page reads it (this file has no DOM types). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}
