/**
 * `PUT /v1/matches/:id/video` of a big file through the gateway: MB/s, the
 * peak memory of the gateway and soccer-service, and the sha256 checked.
 */
import { createReadStream } from 'node:fs';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { BenchContext } from './support/context.js';
import type { UploadFile } from './support/media.js';
import { memory, RssSampler } from './support/proc-stats.js';
import { check, type Section } from './support/results.js';
import { startApp, startGateway, stopAll, type StartedApp } from './support/servers.js';
import { fmt, median } from './support/stats.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

interface UploadAnswer {
  id: string;
  bytes: number;
  sha256: string;
}

/** Streams `file` as the body of one PUT; resolves with the status and the JSON answer. */
async function put(url: string, file: UploadFile): Promise<{ status: number; body: UploadAnswer }> {
  let answer: Promise<{ status: number; body: UploadAnswer }> | undefined;
  const req = request(url, {
    method: 'PUT',
    headers: { 'content-type': 'video/mp4', 'content-length': String(file.bytes) },
  });
  const response = new Promise<void>((resolve, reject) => {
    req.once('response', (res) => {
      answer = (async () => {
        let text = '';
        for await (const chunk of res) text += String(chunk);
        return { status: res.statusCode ?? 0, body: JSON.parse(text) as UploadAnswer };
      })();
      resolve();
    });
    req.once('error', reject);
  });
  // An early answer (an error) may cut the body off: the answer is what counts.
  const sent = pipeline(createReadStream(file.file, { highWaterMark: 1024 * 1024 }), req).catch(
    (err: unknown) => err,
  );
  await response;
  const result = await answer!;
  await sent;
  return result;
}

export async function upload(ctx: BenchContext, file: UploadFile): Promise<Section> {
  let soccer: StartedApp | undefined;
  let gateway: StartedApp | undefined;
  try {
    const mediaDir = join(ctx.tmp, 'upload-media');
    mkdirSync(mediaDir, { recursive: true });
    // Fresh processes: their peak memory (VmHWM) is this measurement's alone.
    soccer = await startApp(ctx, 'upload', 'soccer-service', { MEDIA_DIR: mediaDir });
    gateway = await startGateway(ctx, 'upload', { soccer });
    const pids = [gateway.pid, soccer.pid];
    const url = `http://127.0.0.1:${gateway.port}/v1/matches/bench-upload/video?overwrite=true`;
    const rss = new RssSampler(pids, 100);
    const rates: number[] = [];
    const rounds = ctx.quick ? 1 : ctx.rounds;
    let verified = true;
    for (let round = 0; round < rounds; round++) {
      ctx.log(`upload of ${file.bytes / 1024 ** 2} MiB, round ${round + 1}`);
      const started = performance.now();
      const { status, body } = await put(url, file);
      const secs = (performance.now() - started) / 1000;
      if (status !== 201) throw new Error(`upload answered ${status}: ${JSON.stringify(body)}`);
      verified &&= body.sha256 === file.sha256 && body.bytes === file.bytes;
      rates.push(file.bytes / 1e6 / secs);
    }
    rss.stop();
    const [gw, sc] = pids.map((pid) => memory(pid).hwmMB);
    const mib = file.bytes / 1024 ** 2;
    return {
      id: 'upload',
      title: 'Upload through the gateway',
      method:
        `PUT /v1/matches/bench-upload/video?overwrite=true of a ${mib} MiB mp4, streamed from disk by ` +
        `node:http, ${rounds} time(s) into one fresh gateway + soccer-service; peak memory is each ` +
        "process's VmHWM (lifetime high-water mark, start-up included).",
      columns: [
        'file',
        'MB/s (median)',
        'sha256',
        'gateway peak MB',
        'soccer-service peak MB',
        'RSS sampled max MB (gw / soccer)',
      ],
      rows: [
        [
          `${mib} MiB`,
          fmt(median(rates)),
          verified ? 'verified' : '**MISMATCH**',
          fmt(gw, 0),
          fmt(sc, 0),
          `${fmt(rss.max[0], 0)} / ${fmt(rss.max[1], 0)}`,
        ],
      ],
      checks: [
        check(
          'upload-gateway-peak',
          `Upload of ${mib} MiB: gateway peak memory < 200 MB`,
          gw,
          '<',
          200,
          'MB',
        ),
        check(
          'upload-soccer-peak',
          `Upload of ${mib} MiB: soccer-service peak memory < 200 MB`,
          sc,
          '<',
          200,
          'MB',
        ),
        check(
          'upload-sha256',
          `Upload of ${mib} MiB: sha256 and size verified (1 = yes)`,
          verified ? 1 : 0,
          '=',
          1,
          '',
        ),
      ],
      notes: [
        "The file is a short real mp4 padded with one top-level `free` box of random bytes up to its size, so soccer-service's ffprobe check passes without minutes of encoding.",
        'soccer-service writes the upload to MEDIA_DIR (here a temp directory) with flush, so MB/s includes the disk.',
        ...(ctx.quick
          ? ['bench:quick uploads 100 MiB; the bar is for 1 GiB (npm run bench).']
          : []),
      ],
    };
  } finally {
    await stopAll(gateway, soccer);
  }
}
