import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Metadata,
  status,
  type CallOptions,
  type Client,
  type ClientWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';
import { parsePrometheusText, sampleSum } from '#observability';
import { type stream } from '#proto';
import { createGrpcClient } from '#grpc';

/** Short, so that the test sees sweeps (every UPLOAD_TIMEOUT_MS / 4) and the timeout itself. */
const UPLOAD_TIMEOUT_MS = 20_000;
const HOUR_MS = 3600_000;

type UploadFn = (
  metadata: Metadata,
  options: CallOptions,
  callback: (err: ServiceError | null, result?: stream.UploadResult) => void,
) => ClientWritableStream<stream.UploadChunk>;

/** A file name as the service names its upload temp files. */
const tempName = () => `.upload-${randomUUID()}.part`;

/** Sets a file's modification time to `offsetMs` from now. */
const touch = (path: string, offsetMs: number) => {
  const at = new Date(Date.now() + offsetMs);
  return utimes(path, at, at);
};

describe('soccer-service sweeps stale upload temp files while running', () => {
  let mediaDir: string;
  let app: AppProcess;
  let client: Client;
  let metricsUrl: string;

  beforeAll(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'soccer-sweep-'));
    const port = await freePort();
    const metricsPort = await freePort();
    app = await AppProcess.start('soccer-service', {
      port,
      metricsPort,
      readyTimeoutMs: 60_000,
      env: {
        SOCCER_GRPC_HOST: '127.0.0.1',
        METRICS_HOST: '127.0.0.1',
        MEDIA_DIR: mediaDir,
        UPLOAD_TIMEOUT_MS: String(UPLOAD_TIMEOUT_MS),
      },
    });
    client = createGrpcClient('soccer', `127.0.0.1:${port}`);
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await app?.stop();
    await rm(mediaDir, { recursive: true, force: true });
  });

  const removedTotal = async () =>
    sampleSum(
      parsePrometheusText(await (await fetch(metricsUrl)).text()).samples,
      'soccer_upload_temp_files_removed_total',
    );
  const exists = async (name: string) => (await readdir(mediaDir)).includes(name);

  it('removes a temp file nothing wrote to for UPLOAD_TIMEOUT_MS, logs and counts it; leaves the rest', async () => {
    expect(await removedTotal()).toBe(0);

    // An upload in flight, stalled after its first chunk: its temp file is made to look
    // as old as a crashed one's, yet it is this process's own and must stay.
    const upload = (client as unknown as { upload: UploadFn }).upload.bind(client);
    const result = new Promise<ServiceError | undefined>((resolve) => {
      const call = upload(new Metadata(), {}, (err) => resolve(err ?? undefined));
      call.write({ id: 'swept', overwrite: false, data: Buffer.alloc(64 * 1024) });
    });
    // Its chunk written (so nothing touches the file after this), then made old.
    const written = async () => {
      const name = (await readdir(mediaDir)).find((n) => n.startsWith('.upload-'));
      const size = name ? (await stat(join(mediaDir, name)).catch(() => undefined))?.size : 0;
      return size === 64 * 1024 ? name : undefined;
    };
    let inFlight: string | undefined;
    for (let i = 0; !inFlight; i++) {
      if (i > 400) throw new Error('the upload never wrote its temp file');
      await sleep(50);
      inFlight = await written();
    }
    await touch(join(mediaDir, inFlight), -HOUR_MS);

    // Left by a crash (of this or another replica): untouched for an hour.
    const stale = tempName();
    await writeFile(join(mediaDir, stale), Buffer.alloc(4096));
    await touch(join(mediaDir, stale), -HOUR_MS);
    // Being written right now (by another replica, say).
    const fresh = tempName();
    await writeFile(join(mediaDir, fresh), 'x');
    await touch(join(mediaDir, fresh), HOUR_MS);
    // Not an upload temp file at all.
    await writeFile(join(mediaDir, 'notes.part'), 'x');
    await touch(join(mediaDir, 'notes.part'), -HOUR_MS);

    for (let i = 0; await exists(stale); i++) {
      if (i > 600) throw new Error('the stale temp file was never swept');
      await sleep(50);
    }
    expect(await removedTotal()).toBe(1);
    await expect
      .poll(() => app.logMessages)
      .toMatch(
        new RegExp(`removed stale upload temp file ${stale.replace(/\./g, '\\.')}: 4096 bytes`),
      );
    expect(await exists(fresh)).toBe(true);
    expect(await exists('notes.part')).toBe(true);
    expect(await exists(inFlight)).toBe(true);

    // The stalled upload itself ends at UPLOAD_TIMEOUT_MS, taking its temp file along.
    const err = await result;
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err?.details).toMatch(/UPLOAD_TIMEOUT_MS/);
    expect(await exists(inFlight)).toBe(false);
    expect(await removedTotal()).toBe(1);
  }, 120_000);
});
