import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@grpc/grpc-js';
import { AppProcess, freePort } from '#launcher';
import { createGrpcClient } from '#grpc';
import { serviceMetricsUrl } from '../../../../test/support/metrics.js';

export const run = promisify(execFile);

/** A soccer-service process with its own media dir, and a client of it. */
export interface SoccerService {
  app: AppProcess;
  port: number;
  mediaDir: string;
  /** Its /metrics endpoint. */
  metricsUrl: string;
  client: Client;
  stop(): Promise<void>;
}

export async function startSoccerService(env: Record<string, string> = {}): Promise<SoccerService> {
  const mediaDir = await mkdtemp(join(tmpdir(), 'soccer-media-'));
  const [port, metricsPort] = await Promise.all([freePort(), freePort()]);
  const app = await AppProcess.start('soccer-service', {
    port,
    metricsPort,
    env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir, ...env },
  });
  const client = createGrpcClient('soccer', `127.0.0.1:${port}`);
  return {
    app,
    port,
    mediaDir,
    metricsUrl: serviceMetricsUrl(metricsPort),
    client,
    async stop() {
      client.close();
      await app.stop();
      await rm(mediaDir, { recursive: true, force: true });
    },
  };
}

/** Makes an H.264 test video with Debian's ffmpeg (lavfi testsrc2). */
export async function makeTestVideo(file: string, size = '320x180', seconds = 2): Promise<void> {
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=25`,
    '-t',
    String(seconds),
    '-pix_fmt',
    'yuv420p',
    file,
  ]);
}

/** Resident and peak memory of a process, in bytes. */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Pids of the direct children of `pid` (ffmpeg decoders, for instance). */
export async function childPids(pid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const children = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    pids.push(...children.split(' ').filter(Boolean).map(Number));
  }
  return pids;
}
