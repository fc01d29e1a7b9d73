import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { get, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import { AppProcess, freePort } from '#launcher';
import {
  isHealthProbe,
  mediaFiles,
  mediaLeftovers,
} from '../../../test/support/media-leftovers.js';
import { grpcMethod, metricSum, serviceMetricsUrl } from '../../../test/support/metrics.js';

const MB = 1024 * 1024;
/** soccer-service's own upload limit here: above the big video, below the gateway's 2 GiB. */
const SERVICE_MAX_UPLOAD_BYTES = 300 * MB;

interface ApiError {
  code: number;
  status: string;
  message: string;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Kilobytes of `field` (VmHWM, VmRSS) in /proc/<pid>/status. */
function procKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]);
}

function ffmpeg(...args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { stdio: 'inherit' });
}

function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  return pipeline(createReadStream(file), hash).then(() => hash.digest('hex'));
}

/**
 * PUT `body` with node:http, so the test controls the body exactly: from a
 * file with its Content-Length, or chunked from any stream.
 */
function put(
  url: string,
  body: Readable,
  headers: Record<string, string | number> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', ...headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (t: string) => (text += t));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    // An early answer (413) may close the socket while the body still flows.
    body.on('error', () => undefined);
    body.pipe(req).on('error', () => undefined);
  });
}

function putFile(url: string, file: string, contentType = 'video/mp4'): Promise<Answer> {
  return put(url, createReadStream(file), {
    'content-type': contentType,
    'content-length': statSync(file).size,
  });
}

/** `bytes` of zeros as a chunked body (no Content-Length). */
function zeros(bytes: number): Readable {
  let left = bytes;
  return new Readable({
    read() {
      const n = Math.min(left, 64 * 1024);
      left -= n;
      this.push(n > 0 ? Buffer.alloc(n) : null);
    },
  });
}

/** The first SSE frame event of a watch, decoded. */
function firstFrame(url: string): Promise<{ encoding: string; data: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      if (res.statusCode !== 200) reject(new Error(`watch answered ${res.statusCode}`));
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (t: string) => {
        text += t;
        const match = /event: frame\ndata: (.*)\n\n/.exec(text);
        if (match) {
          res.destroy();
          resolve(JSON.parse(match[1]) as { encoding: string; data: string });
        }
      });
    }).on('error', reject);
  });
}

describe('PUT /v1/matches/:id/video -> Soccer.Upload, streamed', () => {
  let work: string;
  let mediaDir: string;
  let bigVideo: string;
  let smallVideo: string;
  let soccer: AppProcess;
  let gateway: AppProcess;
  /** A second gateway, with a 1 MiB upload limit, in front of the same soccer-service. */
  let smallGateway: AppProcess;
  let base: string;
  let smallBase: string;
  let soccerMetrics: string;

  /**
   * Waits until soccer-service is done with the upload just refused through
   * `gatewayBase`, and with its temp file if it had one: only then does
   * "nothing stored" mean anything. A call through the same gateway comes
   * after the upload's frames on the gateway's HTTP/2 connection, so once it
   * is answered the service has seen whatever of the upload was sent; then it
   * has no Upload open, and its temp file, if any, goes right after.
   */
  async function uploadOverAndCleanedUp(gatewayBase: string, files: string[]) {
    expect((await fetch(`${gatewayBase}/v1/matches`)).status).toBe(200);
    const upload = grpcMethod('stream.Soccer', 'Upload');
    await expect.poll(() => metricSum(soccerMetrics, 'grpc_server_active_streams', upload)).toBe(0);
    await mediaLeftovers(mediaDir, files);
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gateway-upload-'));
    mediaDir = join(work, 'media');
    // ~216 MB of incompressible video: 8 s of lossless noise, looped 3 times by copy.
    const noise = join(work, 'noise8.mp4');
    // prettier-ignore
    ffmpeg(
      '-f', 'lavfi', '-i', "nullsrc=s=640x360:r=25,geq=lum='random(1)*255':cb=128:cr=128",
      '-t', '8', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0',
      noise,
    );
    bigVideo = join(work, 'big.mp4');
    ffmpeg('-stream_loop', '2', '-i', noise, '-c', 'copy', bigVideo);
    smallVideo = join(work, 'small.mp4');
    // prettier-ignore
    ffmpeg(
      '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2',
      '-pix_fmt', 'yuv420p', smallVideo,
    );

    const [soccerPort, soccerMetricsPort, httpPort, smallHttpPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    soccerMetrics = serviceMetricsUrl(soccerMetricsPort);
    soccer = await AppProcess.start('soccer-service', {
      port: soccerPort,
      metricsPort: soccerMetricsPort,
      env: {
        SOCCER_GRPC_HOST: '127.0.0.1',
        MEDIA_DIR: mediaDir,
        MAX_UPLOAD_BYTES: String(SERVICE_MAX_UPLOAD_BYTES),
      },
    });
    const gatewayEnv = {
      GATEWAY_HTTP_HOST: '127.0.0.1',
      SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
      CHEESE_GRPC_URL: '127.0.0.1:1',
    };
    [gateway, smallGateway] = await Promise.all([
      AppProcess.start('gateway', { port: httpPort, env: gatewayEnv }),
      AppProcess.start('gateway', {
        port: smallHttpPort,
        env: { ...gatewayEnv, GATEWAY_MAX_UPLOAD_BYTES: String(MB) },
      }),
    ]);
    base = `http://127.0.0.1:${httpPort}`;
    smallBase = `http://127.0.0.1:${smallHttpPort}`;
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), smallGateway?.stop()]);
    await soccer?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // First, while both processes are fresh: their high-water marks are this upload's.
  it('streams a 200 MB video through with flat memory; it is then listed and plays', async () => {
    const size = statSync(bigVideo).size;
    expect(size).toBeGreaterThan(200 * 1000 * 1000);
    const procs = { gateway, 'soccer-service': soccer };
    const idle = Object.fromEntries(
      Object.entries(procs).map(([name, app]) => [name, procKb(app.child.pid!, 'VmRSS')]),
    );

    const t0 = Date.now();
    const answer = await putFile(`${base}/v1/matches/big-upload/video`, bigVideo);
    const seconds = (Date.now() - t0) / 1000;
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body)).toEqual({
      id: 'big-upload',
      bytes: size,
      sha256: await sha256(bigVideo),
    });

    for (const [name, app] of Object.entries(procs)) {
      const peak = procKb(app.child.pid!, 'VmHWM');
      console.log(
        `${name}: idle RSS ${(idle[name] / 1024).toFixed(0)} MiB, ` +
          `peak (VmHWM) ${(peak / 1024).toFixed(0)} MiB during a ${(size / MB).toFixed(0)} MiB ` +
          `upload at ${(size / MB / seconds).toFixed(0)} MiB/s`,
      );
      // Buffering the body would add the whole file (207 MiB); streaming adds
      // what V8 lets pile up between collections (about 30 MiB here).
      expect(peak - idle[name]).toBeLessThan(64 * 1024);
      // DESIGN.md's bar for a 1 GiB upload: peak memory under 200 MB.
      expect(peak).toBeLessThan((200 * 1e6) / 1024);
    }

    const list = (await (await fetch(`${base}/v1/matches`)).json()) as {
      matches: Array<{ id: string; source: string; sizeBytes: number; width: number }>;
    };
    expect(list.matches.find((m) => m.id === 'big-upload')).toMatchObject({
      source: 'FILE',
      sizeBytes: size,
      width: 640,
    });
    const frame = await firstFrame(`${base}/v1/matches/big-upload/watch?maxFrames=3`);
    expect(frame.encoding).toBe('JPEG');
    const image = await sharp(Buffer.from(frame.data, 'base64')).metadata();
    expect(image).toMatchObject({ format: 'jpeg', width: 640, height: 360 });
  });

  it('a cut-off upload leaves nothing behind in MEDIA_DIR', async () => {
    const files = () => readdirSync(mediaDir).filter((name) => !isHealthProbe(name));
    const before = await mediaFiles(mediaDir);
    const size = statSync(bigVideo).size;
    await new Promise<void>((resolve) => {
      const req = request(`${base}/v1/matches/cut-off/video`, {
        method: 'PUT',
        headers: { 'content-type': 'video/mp4', 'content-length': size },
      });
      req.on('error', () => resolve());
      let sent = 0;
      const file = createReadStream(bigVideo);
      file.on('data', (chunk) => {
        sent += chunk.length;
        if (!req.write(chunk)) {
          file.pause();
          req.once('drain', () => file.resume());
        }
        if (sent > size / 2) {
          file.destroy();
          // The service is writing its temp file by now.
          expect(files().length).toBeGreaterThan(before.length);
          req.destroy();
        }
      });
    });
    const t0 = Date.now();
    await mediaLeftovers(mediaDir, before);
    expect(await mediaFiles(mediaDir)).toEqual(before);
    console.log(`cut-off upload cleaned up within ${Date.now() - t0} ms`);
    expect(gateway.exited).toBe(false);
  });

  it('an existing id is 409 unless overwrite=true; built-in matches cannot be replaced', async () => {
    const url = `${base}/v1/matches/small-one/video`;
    const first = await putFile(url, smallVideo);
    expect(first.status).toBe(201);
    const again = await putFile(url, smallVideo);
    expect(again.status).toBe(409);
    expect((JSON.parse(again.body) as ApiError).status).toBe('ALREADY_EXISTS');
    const replaced = await putFile(`${url}?overwrite=true`, smallVideo, 'application/octet-stream');
    expect(replaced.status).toBe(201);
    expect(JSON.parse(replaced.body)).toMatchObject({
      id: 'small-one',
      sha256: await sha256(smallVideo),
    });
    const demo = await putFile(`${base}/v1/matches/demo/video?overwrite=true`, smallVideo);
    expect(demo.status).toBe(409);
  });

  it.each<[string, string, string, number, string, RegExp]>([
    ['bad id', '/v1/matches/bad.id/video', 'video/mp4', 400, 'INVALID_ARGUMENT', /id must/],
    [
      'bad overwrite',
      '/v1/matches/x1/video?overwrite=yes',
      'video/mp4',
      400,
      'INVALID_ARGUMENT',
      /overwrite/,
    ],
    [
      'wrong media type',
      '/v1/matches/x1/video',
      'text/plain',
      415,
      'INVALID_ARGUMENT',
      /Unsupported/,
    ],
  ])('%s -> %i %s', async (_name, path, type, httpStatus, grpcStatus, message) => {
    const answer = await putFile(`${base}${path}`, smallVideo, type);
    expect(answer.status).toBe(httpStatus);
    const error = JSON.parse(answer.body) as ApiError;
    expect(error.status).toBe(grpcStatus);
    expect(error.message).toMatch(message);
  });

  it('a body that is not a video -> 400 from the service, nothing stored', async () => {
    const before = await mediaFiles(mediaDir);
    const answer = await put(`${base}/v1/matches/not-a-video/video`, zeros(300 * 1024));
    expect(answer.status).toBe(400);
    expect(await mediaFiles(mediaDir)).toEqual(before);
  });

  describe('over the limit -> 413 RESOURCE_EXHAUSTED', () => {
    it('Content-Length over GATEWAY_MAX_UPLOAD_BYTES: at once, before any byte is read', async () => {
      const answer = await put(`${smallBase}/v1/matches/too-big/video`, zeros(2 * MB), {
        'content-length': 2 * MB,
      });
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe('close');
      const error = JSON.parse(answer.body) as ApiError;
      expect(error).toMatchObject({ code: 8, status: 'RESOURCE_EXHAUSTED' });
      expect(error.message).toMatch(/limit of 1048576 bytes/);
    });

    it('a chunked body that passes the limit: cut off as it does, nothing stored', async () => {
      const before = await mediaFiles(mediaDir);
      const answer = await put(`${smallBase}/v1/matches/too-big/video`, zeros(50 * MB));
      expect(answer.status).toBe(413);
      expect((JSON.parse(answer.body) as ApiError).message).toMatch(/more than 1048576 bytes/);
      // The gateway cancels the call as it answers; the service ends it a moment later.
      await uploadOverAndCleanedUp(smallBase, before);
      expect(await mediaFiles(mediaDir)).toEqual(before);
    });

    it("soccer-service's own limit (RESOURCE_EXHAUSTED) is a 413 too", async () => {
      const before = await mediaFiles(mediaDir);
      const answer = await put(
        `${base}/v1/matches/too-big/video`,
        zeros(SERVICE_MAX_UPLOAD_BYTES + MB),
      );
      expect(answer.status).toBe(413);
      const error = JSON.parse(answer.body) as ApiError;
      expect(error.status).toBe('RESOURCE_EXHAUSTED');
      expect(error.message).toMatch(/314572800/); // the service's limit, named by the service
      await uploadOverAndCleanedUp(base, before);
      expect(await mediaFiles(mediaDir)).toEqual(before);
    });

    it('the gateways still serve afterwards', async () => {
      expect((await fetch(`${smallBase}/v1/matches`)).status).toBe(200);
      expect((await fetch(`${base}/v1/matches`)).status).toBe(200);
    });
  });
});
