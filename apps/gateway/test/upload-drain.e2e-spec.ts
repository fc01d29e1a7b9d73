import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';

const CHUNK = 64 * 1024;
/** Sent after the video's bytes: an mp4 `free` box, which every mp4 reader skips. */
const PADDING = 6 * 1024 * 1024;

/** A 2 s mp4 followed by PADDING bytes of `free` box: a valid video of any size. */
function paddedVideo(dir: string): Buffer {
  const file = join(dir, 'clip.mp4');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25'],
    ...['-t', '2', '-pix_fmt', 'yuv420p', file],
  ]);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0); // size 1: the 64-bit size follows the type
  header.write('free', 4, 'latin1');
  header.writeBigUInt64BE(BigInt(PADDING + 16), 8);
  return Buffer.concat([readFileSync(file), header, Buffer.alloc(PADDING)]);
}

interface SlowUpload {
  req: ClientRequest;
  /** The answer's status and body, or the error that cut the request off. */
  outcome: Promise<{ status: number; body: string } | { error: string }>;
}

/**
 * PUTs `body` (or, without one, zeros for ever) a chunk every 50 ms, as a
 * client on a slow link would: an upload that is making progress all along.
 */
function slowUpload(url: string, body?: Buffer): SlowUpload {
  const req = request(url, {
    method: 'PUT',
    headers: {
      'content-type': 'video/mp4',
      'content-length': String(body?.length ?? 1024 ** 3),
    },
  });
  const outcome = new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
  void (async () => {
    for (let at = 0; !req.destroyed && (!body || at < body.length); at += CHUNK) {
      req.write(body ? body.subarray(at, at + CHUNK) : Buffer.alloc(CHUNK));
      await sleep(50);
    }
    if (!req.destroyed) req.end();
  })();
  return { req, outcome };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('rollouts do not cut uploads (SHUTDOWN_UPLOAD_GRACE_MS)', () => {
  let dir: string;
  let video: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'upload-drain-'));
    video = paddedVideo(dir);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(soccerEnv: Record<string, string>, gatewayEnv: Record<string, string>) {
    const mediaDir = mkdtempSync(join(dir, 'media-'));
    const soccerPort = await freePort();
    const soccer = await AppProcess.start('soccer-service', {
      port: soccerPort,
      readyTimeoutMs: 120_000,
      env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, ...soccerEnv },
    });
    const port = await freePort();
    const gateway = await AppProcess.start('gateway', {
      port,
      readyTimeoutMs: 120_000,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
        CHEESE_GRPC_URL: '127.0.0.1:1',
        ...gatewayEnv,
      },
    }).catch(async (err: unknown) => {
      await soccer.stop('SIGKILL');
      throw err;
    });
    const tempFiles = () => readdirSync(mediaDir).filter((name) => name.startsWith('.upload-'));
    /** Once soccer-service has the upload's temp file, it is in flight end to end. */
    const reachedSoccer = async () => {
      for (let i = 0; tempFiles().length === 0; i++) {
        if (i > 1200) throw new Error('the upload never reached soccer-service');
        await sleep(50);
      }
    };
    return {
      soccer,
      gateway,
      mediaDir,
      tempFiles,
      reachedSoccer,
      base: `http://127.0.0.1:${port}`,
    };
  }

  it('the gateway drains: an upload in flight outlives SHUTDOWN_GRACE_MS and is stored; then exit 0', async () => {
    const { soccer, gateway, mediaDir, reachedSoccer, base } = await start(
      {},
      { SHUTDOWN_GRACE_MS: '1000', SHUTDOWN_UPLOAD_GRACE_MS: '120000' },
    );
    try {
      const upload = slowUpload(`${base}/v1/matches/rollout/video`, video);
      await reachedSoccer();
      // ~6.5 MiB at 64 KiB per 50 ms: it goes on for seconds after the grace period.
      const exit = gateway.stop('SIGTERM', 120_000);
      const outcome = await upload.outcome;
      expect(outcome).toEqual({ status: 201, body: expect.any(String) as string });
      expect(JSON.parse((outcome as { body: string }).body)).toEqual({
        id: 'rollout',
        bytes: video.length,
        sha256: sha256(video),
      });
      expect(await exit).toBe('0');
      expect(gateway.logMessages).toMatch(
        /grace period of 1000 ms over: waiting for 1 upload\(s\) in flight/,
      );
      expect(readFileSync(join(mediaDir, 'rollout.mp4')).equals(video)).toBe(true);
    } finally {
      await gateway.stop('SIGKILL');
      await soccer.stop();
    }
  }, 400_000);

  it('soccer-service drains too: the upload it is receiving is stored before it exits 0', async () => {
    const { soccer, gateway, mediaDir, reachedSoccer, base } = await start(
      { SHUTDOWN_GRACE_MS: '1000', SHUTDOWN_UPLOAD_GRACE_MS: '120000' },
      {},
    );
    try {
      const upload = slowUpload(`${base}/v1/matches/moved/video`, video);
      await reachedSoccer();
      const exit = soccer.stop('SIGTERM', 120_000);
      const outcome = await upload.outcome;
      expect(outcome).toMatchObject({ status: 201 });
      expect(JSON.parse((outcome as { body: string }).body)).toMatchObject({
        sha256: sha256(video),
      });
      expect(await exit).toBe('0');
      expect(soccer.logMessages).toMatch(
        /grace period of 1000 ms over: waiting for 1 upload\(s\) in flight/,
      );
      expect(readFileSync(join(mediaDir, 'moved.mp4')).equals(video)).toBe(true);
    } finally {
      await gateway.stop();
      await soccer.stop('SIGKILL');
    }
  }, 400_000);

  it('an upload longer than SHUTDOWN_UPLOAD_GRACE_MS is cut at that bound, and leaves nothing', async () => {
    const { soccer, gateway, tempFiles, reachedSoccer, base } = await start(
      {},
      { SHUTDOWN_GRACE_MS: '1000', SHUTDOWN_UPLOAD_GRACE_MS: '3000' },
    );
    try {
      // Never ends: 1 GiB declared, sent at 1.3 MB/s.
      const upload = slowUpload(`${base}/v1/matches/endless/video`);
      await reachedSoccer();
      const exit = gateway.stop('SIGTERM', 120_000);
      const outcome = await upload.outcome;
      expect('error' in outcome && outcome.error).toMatch(/ECONNRESET|socket hang up/);
      expect(await exit).toBe('0');
      const held =
        /uploads held the shutdown for (\d+) ms: closing the connections still open/.exec(
          gateway.logMessages,
        );
      expect(held, gateway.logMessages).not.toBeNull();
      expect(Number(held![1])).toBeGreaterThanOrEqual(3000);
      // The cut cancelled the gRPC upload: soccer-service removed its temp file.
      for (let i = 0; tempFiles().length > 0; i++) {
        if (i > 600) throw new Error(`temp file left: ${tempFiles().join(', ')}`);
        await sleep(50);
      }
    } finally {
      await gateway.stop('SIGKILL');
      await soccer.stop();
    }
  }, 400_000);
});
