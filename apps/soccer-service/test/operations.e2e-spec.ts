import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Metadata,
  status,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { AppProcess, freePort } from '#launcher';
import { stream } from '#proto';
import {
  checkHealth,
  createGrpcClient,
  createHealthClient,
  waitForServing,
  type HealthCheckResponse,
  type HealthClient,
} from '#grpc';
import { childPids, makeTestVideo, run } from './support/soccer-service.js';

const BUF = new URL('../../../node_modules/.bin/buf', import.meta.url).pathname;

function bufCurl(port: number, args: string[]): Promise<string> {
  return run(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], {
    timeout: 60_000,
  }).then(({ stdout }) => stdout);
}

type WatchFn = (request: Partial<stream.Match>) => ClientReadableStream<stream.Video>;
type ChatFn = (
  metadata?: Metadata,
) => ClientDuplexStream<Partial<stream.ChatMessage>, stream.ChatMessage>;

/** A stream's outcome: how many messages, then its status (0 for OK). */
function outcome(call: ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>) {
  let received = 0;
  call.on('data', () => received++);
  const ended = new Promise<number>((resolve) => {
    call.on('error', (err: ServiceError) => resolve(err.code));
    call.on('status', (s: { code: number }) => resolve(s.code));
  });
  return { received: () => received, ended };
}

const exists = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts soccer-service on `mediaDir`; with `serving`, resolves once its health is SERVING. */
async function startSoccer(mediaDir: string, env: Record<string, string> = {}, serving = true) {
  const port = await freePort();
  const app = await AppProcess.start('soccer-service', {
    port,
    env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, ...env },
  });
  const health = createHealthClient(`127.0.0.1:${port}`);
  if (serving) await waitForServing(health);
  return { app, port, health };
}

describe('soccer-service: health and reflection', () => {
  let dir: string;
  let app: AppProcess;
  let port: number;
  let health: HealthClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'soccer-ops-'));
    ({ app, port, health } = await startSoccer(dir));
  });

  afterAll(async () => {
    health?.close();
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['', 'stream.Soccer'])('grpc.health.v1 Check(%j) is SERVING', async (name) => {
    expect(await checkHealth(health, name)).toBe('SERVING');
  });

  it('says in its log which ffmpeg and ffprobe it found', async () => {
    await expect.poll(() => app.logMessages).toMatch(/ffmpeg \/\S*ffmpeg, ffprobe \/\S*ffprobe/);
  });

  it('the write check leaves nothing behind in MEDIA_DIR', async () => {
    // Caught mid-check, its probe file is there for a moment; a leftover stays.
    await expect.poll(() => readdir(dir)).toEqual([]);
  });

  it('reflection lists every method of stream.Soccer and of health', async () => {
    const methods = (await bufCurl(port, ['--list-methods', `http://127.0.0.1:${port}`]))
      .trim()
      .split('\n');
    expect(methods).toEqual(
      expect.arrayContaining([
        'stream.Soccer/Watch',
        'stream.Soccer/Upload',
        'stream.Soccer/Chat',
        'stream.Soccer/ListMatches',
        'grpc.health.v1.Health/Check',
        'grpc.health.v1.Health/Watch',
      ]),
    );
  });

  it('reflection resolves the message types: ListMatches and a JPEG Watch through buf curl', async () => {
    const list = JSON.parse(
      await bufCurl(port, [`http://127.0.0.1:${port}/stream.Soccer/ListMatches`]),
    ) as { matches: object[] };
    // JSON from the reflected descriptors: camelCase names, int64 as a string, and
    // proto3 defaults left out (source SYNTHETIC is 0).
    expect(list.matches).toEqual([
      { id: 'demo', width: 640, height: 360, fps: 25, durationMs: '10000' },
      { id: 'live', width: 640, height: 360, fps: 25, live: true },
    ]);
    const frame = JSON.parse(
      await bufCurl(port, [
        '-d',
        '{"id":"demo","encoding":"JPEG","maxFrames":1}',
        `http://127.0.0.1:${port}/stream.Soccer/Watch`,
      ]),
    ) as { encoding: string; dataShape: string; dataType: string };
    expect(frame).toMatchObject({
      encoding: 'JPEG',
      dataShape: '(360, 640, 3)',
      dataType: 'uint8',
    });
  });
});

describe('soccer-service graceful shutdown', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'soccer-ops-'));
    // 20 s at 25 fps: still decoding when the signal comes.
    await makeTestVideo(join(dir, 'x.mp4'), '320x180', 20);
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    { decoder: 'node-av', children: 0 },
    { decoder: 'ffmpeg', children: 1 },
  ])(
    'on SIGTERM: open Watch (file decoded by $decoder) and Chat streams end cleanly, decoders gone, exit 0',
    { timeout: 180_000 },
    async ({ decoder, children }) => {
      const { app, port, health } = await startSoccer(dir, {
        SHUTDOWN_GRACE_MS: '8000',
        VIDEO_DECODER: decoder,
      });
      const client = createGrpcClient('soccer', `127.0.0.1:${port}`);
      try {
        const watch = (client as unknown as { watch: WatchFn }).watch.bind(client);
        const live = outcome(watch({ id: 'live', fps: 25 }));
        const file = outcome(watch({ id: 'x', fps: 25 }));
        const chatCall = (client as unknown as { chat: ChatFn }).chat.bind(client)(new Metadata());
        const chat = outcome(chatCall);
        chatCall.write({ matchId: 'x', user: 'ana', text: 'hello' });
        const healthWatch = health.watch({ service: 'stream.Soccer' });
        const seen: string[] = [];
        healthWatch.on('data', (r: HealthCheckResponse) => seen.push(r.status));
        healthWatch.on('error', () => undefined);

        await expect
          .poll(() => [live.received() > 3, file.received() > 3, chat.received() > 0, seen])
          .toEqual([true, true, true, ['SERVING']]);
        const decoders = await childPids(app.child.pid!);
        expect(decoders).toHaveLength(children); // an ffmpeg decoding x.mp4, or none

        const signalled = performance.now();
        const exit = app.stop('SIGTERM', 20_000);
        // Endless streams end on their own, with a status a client can retry on.
        expect(await live.ended).toBe(status.UNAVAILABLE);
        expect(await file.ended).toBe(status.UNAVAILABLE);
        expect(await chat.ended).toBe(status.UNAVAILABLE);
        expect(await exit).toBe('0');
        expect(performance.now() - signalled).toBeLessThan(3000); // nothing had to wait
        expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
        expect(decoders.filter(exists)).toEqual([]);
        expect(app.logMessages).toMatch(/Watch "x" stopped \(server shutting down\)/);
        expect(app.logMessages).toMatch(/Watch "live" stopped \(server shutting down\)/);
      } finally {
        client.close();
        health.close();
        await app.stop('SIGKILL');
      }
    },
  );
});

describe('soccer-service health follows MEDIA_DIR', () => {
  let base: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'soccer-ops-'));
  });

  afterAll(() => rm(base, { recursive: true, force: true }));

  /**
   * The tests run as root, for whom chmod 0555 does not stop writes. A
   * MEDIA_DIR whose parent is a regular file cannot be created or written by
   * anyone (ENOTDIR), and turning the file into a directory repairs it.
   */
  it(
    'NOT_SERVING while MEDIA_DIR cannot be written (its parent is a file), SERVING once it can',
    { timeout: 180_000 },
    async () => {
      const parent = join(base, 'not-a-dir');
      await writeFile(parent, 'a file where a directory should be');
      const mediaDir = join(parent, 'media');
      const { app, port, health } = await startSoccer(
        mediaDir,
        { MEDIA_CHECK_INTERVAL_MS: '200' },
        false,
      );
      const client = createGrpcClient('soccer', `127.0.0.1:${port}`);
      try {
        await expect
          .poll(() => checkHealth(health, 'stream.Soccer').catch(() => 'DOWN'))
          .toBe('NOT_SERVING');
        expect(await checkHealth(health, '')).toBe('NOT_SERVING');
        await expect
          .poll(() => app.logMessages)
          .toMatch(/check media-dir fails \(MEDIA_DIR \S+ is not writable/);

        // Still up: the built-in matches list and play.
        const list = await new Promise<stream.ListMatchesResponse>((resolve, reject) =>
          (
            client as unknown as {
              listMatches: (
                r: object,
                cb: (e: Error | null, r: stream.ListMatchesResponse) => void,
              ) => void;
            }
          ).listMatches({}, (e, r) => (e ? reject(e) : resolve(r))),
        );
        expect(list.matches.map((m) => m.id)).toEqual(['demo', 'live']);

        // Repaired: the next check passes. The service's own probe may create
        // the directory between the rm and the mkdir, hence `recursive`.
        await rm(parent);
        await mkdir(parent, { recursive: true });
        await waitForServing(health, 'stream.Soccer');
        expect(await checkHealth(health, '')).toBe('SERVING');
        await expect.poll(() => app.logMessages).toMatch(/check media-dir passes; health SERVING/);
        expect(await app.stop()).toBe('0');
      } finally {
        client.close();
        health.close();
        await app.stop('SIGKILL');
      }
    },
  );

  it.skipIf(process.getuid?.() === 0)(
    'NOT_SERVING when MEDIA_DIR is read-only (chmod 0555; skipped as root)',
    async () => {
      const mediaDir = join(base, 'read-only');
      await mkdir(mediaDir, { mode: 0o555 });
      const { app, health } = await startSoccer(mediaDir, {}, false);
      try {
        await expect
          .poll(() => checkHealth(health, 'stream.Soccer').catch(() => 'DOWN'))
          .toBe('NOT_SERVING');
      } finally {
        health.close();
        await app.stop();
      }
    },
  );
});
