import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import { AppProcess, freePort, generateDevCerts, type DevCerts } from '#launcher';
import {
  isHealthProbe,
  mediaFiles,
  mediaLeftovers,
  uploadTempFilesOnceThere,
} from '../../../test/support/media-leftovers.js';
import { grpcMethod, metricSum, serviceMetricsUrl } from '../../../test/support/metrics.js';
import { LINGER_MS } from '../src/errors/close-after-answer.js';
import { overHttp1, type HttpAnswer, type Transport } from './support/hostile-http.js';
import { overHttp2 } from './support/hostile-http2.js';

const MB = 1024 * 1024;
/** soccer-service's own upload limit here: above the big video, below the gateway's 2 GiB. */
const SERVICE_MAX_UPLOAD_BYTES = 300 * MB;

interface ApiError {
  code: number;
  status: string;
  message: string;
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

/** `bytes` of zeros as a body of no declared length (HTTP/1.1: chunked). */
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

/** The listeners the uploads go through: plain HTTP/1.1, and TLS spoken as HTTP/2. */
const LISTENERS = [
  { name: 'HTTP/1.1', tls: false },
  { name: 'HTTP/2 (TLS, ALPN h2)', tls: true },
] as const;

describe('PUT /v1/matches/:id/video -> Soccer.Upload, streamed', () => {
  let work: string;
  let bigVideo: string;
  let smallVideo: string;
  let certs: DevCerts;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'gateway-upload-'));
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
    certs = await generateDevCerts(join(work, 'certs'));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // Each listener gets processes of their own: the memory test reads their high-water marks.
  describe.each(LISTENERS)('over $name', ({ name, tls }) => {
    let mediaDir: string;
    let soccer: AppProcess;
    let gateway: AppProcess;
    /**
     * A second gateway in front of the same soccer-service, with a 1 MiB
     * upload limit and a 1 s idle timeout: a connection with no traffic is
     * closed after GATEWAY_DEADLINE_MS + 1 s (5 + 1 s here).
     */
    let smallGateway: AppProcess;
    let port: number;
    let smallPort: number;
    let soccerMetrics: string;
    let transport: Transport;

    /** PUT `body` (a stream, so the test controls it exactly) to `path`. */
    function put(
      gatewayPort: number,
      path: string,
      body: Readable,
      headers: Record<string, string | number> = {},
    ): Promise<HttpAnswer> {
      return transport.request(gatewayPort, {
        method: 'PUT',
        path,
        headers: { 'content-type': 'application/octet-stream', ...headers },
        body,
      });
    }

    function putFile(path: string, file: string, contentType = 'video/mp4'): Promise<HttpAnswer> {
      return put(port, path, createReadStream(file), {
        'content-type': contentType,
        'content-length': statSync(file).size,
      });
    }

    async function matchList(gatewayPort = port): Promise<HttpAnswer> {
      return transport.request(gatewayPort, { path: '/v1/matches' });
    }

    /** The first SSE frame event of a watch, decoded. */
    async function firstFrame(path: string): Promise<{ encoding: string; data: string }> {
      const watch = transport.start(port, { path });
      watch.body.end();
      try {
        const { status, body } = await watch.response;
        expect(status).toBe(200);
        let text = '';
        body.setEncoding('utf8');
        for await (const chunk of body) {
          text += chunk as string;
          const match = /event: frame\ndata: (.*)\n\n/.exec(text);
          if (match) return JSON.parse(match[1]) as { encoding: string; data: string };
        }
        throw new Error(`watch ended with no frame: ${text.slice(0, 200)}`);
      } finally {
        watch.cut();
      }
    }

    /**
     * Waits until soccer-service is done with the upload just refused through
     * `gatewayPort`, and with its temp file if it had one: only then does
     * "nothing stored" mean anything. A call through the same gateway comes
     * after the upload's frames on the gateway's HTTP/2 connection, so once it
     * is answered the service has seen whatever of the upload was sent; then it
     * has no Upload open, and its temp file, if any, goes right after.
     */
    async function uploadOverAndCleanedUp(gatewayPort: number, files: string[]) {
      expect((await matchList(gatewayPort)).status).toBe(200);
      const upload = grpcMethod('stream.Soccer', 'Upload');
      await expect
        .poll(() => metricSum(soccerMetrics, 'grpc_server_active_streams', upload))
        .toBe(0);
      await mediaLeftovers(mediaDir, files);
    }

    beforeAll(async () => {
      transport = tls ? overHttp2(readFileSync(certs.ca)) : overHttp1;
      mediaDir = join(work, `media-${tls ? 'h2' : 'http1'}`);
      const [soccerPort, soccerMetricsPort] = await Promise.all([freePort(), freePort()]);
      [port, smallPort] = await Promise.all([freePort(), freePort()]);
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
        ...(tls && { GATEWAY_TLS_CERT: certs.serverCert, GATEWAY_TLS_KEY: certs.serverKey }),
      };
      [gateway, smallGateway] = await Promise.all([
        AppProcess.start('gateway', { port, env: gatewayEnv }),
        AppProcess.start('gateway', {
          port: smallPort,
          env: {
            ...gatewayEnv,
            GATEWAY_MAX_UPLOAD_BYTES: String(MB),
            GATEWAY_IDLE_TIMEOUT_MS: '1000',
          },
        }),
      ]);
    });

    afterAll(async () => {
      await Promise.all([gateway?.stop(), smallGateway?.stop()]);
      await soccer?.stop();
      // The stored videos (over 200 MB) are not needed by the next listener's run.
      if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
    });

    // First, while both processes are fresh: their high-water marks are this upload's.
    it('streams a 200 MB video through with flat memory; it is then listed and plays', async () => {
      const size = statSync(bigVideo).size;
      expect(size).toBeGreaterThan(200 * 1000 * 1000);
      const procs = { gateway, 'soccer-service': soccer };
      const idle = Object.fromEntries(
        Object.entries(procs).map(([proc, app]) => [proc, procKb(app.child.pid!, 'VmRSS')]),
      );

      const t0 = Date.now();
      const answer = await putFile('/v1/matches/big-upload/video', bigVideo);
      const seconds = (Date.now() - t0) / 1000;
      expect(answer.status).toBe(201);
      expect(JSON.parse(answer.body)).toEqual({
        id: 'big-upload',
        bytes: size,
        sha256: await sha256(bigVideo),
      });

      for (const [proc, app] of Object.entries(procs)) {
        const peak = procKb(app.child.pid!, 'VmHWM');
        console.log(
          `${name} ${proc}: idle RSS ${(idle[proc] / 1024).toFixed(0)} MiB, ` +
            `peak (VmHWM) ${(peak / 1024).toFixed(0)} MiB during a ${(size / MB).toFixed(0)} MiB ` +
            `upload at ${(size / MB / seconds).toFixed(0)} MiB/s`,
        );
        // Buffering the body would add the whole file (207 MiB); streaming adds
        // what V8 lets pile up between collections (about 30 MiB here).
        expect(peak - idle[proc]).toBeLessThan(64 * 1024);
        // DESIGN.md's bar for a 1 GiB upload: peak memory under 200 MB.
        expect(peak).toBeLessThan((200 * 1e6) / 1024);
      }

      const list = JSON.parse((await matchList()).body) as {
        matches: Array<{ id: string; source: string; sizeBytes: number; width: number }>;
      };
      expect(list.matches.find((m) => m.id === 'big-upload')).toMatchObject({
        source: 'FILE',
        sizeBytes: size,
        width: 640,
      });
      const frame = await firstFrame('/v1/matches/big-upload/watch?maxFrames=3');
      expect(frame.encoding).toBe('JPEG');
      const image = await sharp(Buffer.from(frame.data, 'base64')).metadata();
      expect(image).toMatchObject({ format: 'jpeg', width: 640, height: 360 });
    });

    // Over HTTP/2 the cut is a reset stream (CANCEL), as a browser's abort.
    it('a cut-off upload leaves nothing behind in MEDIA_DIR', async () => {
      const files = () => readdirSync(mediaDir).filter((file) => !isHealthProbe(file));
      const before = await mediaFiles(mediaDir);
      const size = statSync(bigVideo).size;
      const req = transport.start(port, {
        method: 'PUT',
        path: '/v1/matches/cut-off/video',
        headers: { 'content-type': 'video/mp4', 'content-length': size },
      });
      req.body.on('error', () => undefined);
      try {
        let sent = 0;
        for await (const chunk of createReadStream(bigVideo)) {
          sent += (chunk as Buffer).length;
          // Back-pressure: the next chunk once the transport takes more.
          if (!req.body.write(chunk)) {
            await once(req.body, 'drain', { signal: AbortSignal.timeout(30_000) });
          }
          if (sent > size / 2) break;
        }
        // The service is writing its temp file by now.
        expect(files().length).toBeGreaterThan(before.length);
      } finally {
        req.cut();
      }
      const t0 = Date.now();
      await mediaLeftovers(mediaDir, before);
      expect(await mediaFiles(mediaDir)).toEqual(before);
      console.log(`${name}: cut-off upload cleaned up within ${Date.now() - t0} ms`);
      expect(gateway.exited).toBe(false);
    });

    it('a stalled upload is cut when its connection goes quiet, and leaves nothing behind', async () => {
      const before = await mediaFiles(mediaDir);
      const req = transport.start(smallPort, {
        method: 'PUT',
        path: '/v1/matches/stalled/video',
        headers: { 'content-type': 'video/mp4', 'content-length': MB },
      });
      req.body.on('error', () => undefined);
      req.body.write(Buffer.alloc(256 * 1024, 5));
      try {
        expect(await uploadTempFilesOnceThere(mediaDir)).toHaveLength(1);
        // Then nothing: the gateway ends the request (HTTP/1.1: closes the
        // connection; HTTP/2: destroys the session), no answer comes.
        let timer: NodeJS.Timeout | undefined;
        const ended = await Promise.race([
          req.response.then(
            () => 'answered',
            () => 'cut by the gateway',
          ),
          new Promise<string>((resolve) => {
            timer = setTimeout(resolve, 60_000, 'still open after 60 s');
          }),
        ]).finally(() => clearTimeout(timer));
        expect(ended).toBe('cut by the gateway');
      } finally {
        req.cut();
      }
      expect(await mediaLeftovers(mediaDir, before)).toEqual([]);
      expect(smallGateway.exited).toBe(false);
    });

    it('an existing id is 409 unless overwrite=true; built-in matches cannot be replaced', async () => {
      const path = '/v1/matches/small-one/video';
      const first = await putFile(path, smallVideo);
      expect(first.status).toBe(201);
      const again = await putFile(path, smallVideo);
      expect(again.status).toBe(409);
      expect((JSON.parse(again.body) as ApiError).status).toBe('ALREADY_EXISTS');
      const replaced = await putFile(
        `${path}?overwrite=true`,
        smallVideo,
        'application/octet-stream',
      );
      expect(replaced.status).toBe(201);
      expect(JSON.parse(replaced.body)).toMatchObject({
        id: 'small-one',
        sha256: await sha256(smallVideo),
      });
      const demo = await putFile('/v1/matches/demo/video?overwrite=true', smallVideo);
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
      const answer = await putFile(path, smallVideo, type);
      expect(answer.status).toBe(httpStatus);
      const error = JSON.parse(answer.body) as ApiError;
      expect(error.status).toBe(grpcStatus);
      expect(error.message).toMatch(message);
    });

    it('a body that is not a video -> 400 from the service, nothing stored', async () => {
      const before = await mediaFiles(mediaDir);
      const answer = await put(port, '/v1/matches/not-a-video/video', zeros(300 * 1024));
      expect(answer.status).toBe(400);
      expect(await mediaFiles(mediaDir)).toEqual(before);
    });

    describe('over the limit -> 413 RESOURCE_EXHAUSTED', () => {
      it('Content-Length over GATEWAY_MAX_UPLOAD_BYTES: at once, before any byte is read', async () => {
        const answer = await put(smallPort, '/v1/matches/too-big/video', zeros(2 * MB), {
          'content-length': 2 * MB,
        });
        expect(answer.status).toBe(413);
        // HTTP/1.1 closes the connection rather than read the rest; HTTP/2
        // (no Connection header there) resets the stream and keeps the connection.
        expect(answer.headers.connection).toBe(tls ? undefined : 'close');
        const error = JSON.parse(answer.body) as ApiError;
        expect(error).toMatchObject({ code: 8, status: 'RESOURCE_EXHAUSTED' });
        expect(error.message).toMatch(/limit of 1048576 bytes/);
      });

      it('a body of no declared length that passes the limit: cut off as it does, nothing stored', async () => {
        const before = await mediaFiles(mediaDir);
        const answer = await put(smallPort, '/v1/matches/too-big/video', zeros(50 * MB));
        expect(answer.status).toBe(413);
        expect((JSON.parse(answer.body) as ApiError).message).toMatch(/more than 1048576 bytes/);
        // The gateway cancels the call as it answers; the service ends it a moment later.
        await uploadOverAndCleanedUp(smallPort, before);
        expect(await mediaFiles(mediaDir)).toEqual(before);
      });

      it('a client still writing its body reads every early 413 (the connection lingers, no reset)', async () => {
        // Closed at once, the connection would be reset under a client still
        // writing: it got EPIPE instead of its 413 about one time in ten.
        const before = await mediaFiles(mediaDir);
        const statuses: number[] = [];
        for (let i = 0; i < 50; i++) {
          statuses.push((await put(smallPort, '/v1/matches/too-big/video', zeros(50 * MB))).status);
        }
        expect(statuses).toEqual(Array<number>(50).fill(413));
        await uploadOverAndCleanedUp(smallPort, before);
        expect(await mediaFiles(mediaDir)).toEqual(before);
      });

      it.runIf(!tls)(
        'a client that never stops sending after its 413 is dropped after LINGER_MS',
        async () => {
          const socket = connect({ host: '127.0.0.1', port: smallPort, allowHalfOpen: true });
          socket.on('error', () => undefined); // EPIPE / ECONNRESET: the drop this waits for
          let answer = '';
          socket.setEncoding('latin1');
          socket.on('data', (text: string) => (answer += text));
          const chunk = (data: Buffer) =>
            `${data.length.toString(16)}\r\n${data.toString('latin1')}\r\n`;
          socket.write(
            'PUT /v1/matches/too-big/video HTTP/1.1\r\nHost: gateway\r\n' +
              'Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n' +
              chunk(Buffer.alloc(2 * MB)),
            'latin1',
          );
          await expect.poll(() => answer, { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 413 /);
          const answeredAt = Date.now();
          // Deaf to the server's FIN: a kilobyte every 100 ms, which the idle timeout never sees idle.
          const trickle = setInterval(() => socket.write(chunk(Buffer.alloc(1024)), 'latin1'), 100);
          // (not events.once: the drop comes as an 'error' first)
          await new Promise((closed) => socket.once('close', closed));
          clearInterval(trickle);
          expect(Date.now() - answeredAt).toBeLessThan(LINGER_MS + 5000);
          expect(answer).toMatch(/connection: close/i);
          expect((await matchList(smallPort)).status).toBe(200);
        },
      );

      it("soccer-service's own limit (RESOURCE_EXHAUSTED) is a 413 too", async () => {
        const before = await mediaFiles(mediaDir);
        const answer = await put(
          port,
          '/v1/matches/too-big/video',
          zeros(SERVICE_MAX_UPLOAD_BYTES + MB),
        );
        expect(answer.status).toBe(413);
        const error = JSON.parse(answer.body) as ApiError;
        expect(error.status).toBe('RESOURCE_EXHAUSTED');
        expect(error.message).toMatch(/314572800/); // the service's limit, named by the service
        await uploadOverAndCleanedUp(port, before);
        expect(await mediaFiles(mediaDir)).toEqual(before);
      });

      it('the gateways still serve afterwards', async () => {
        expect((await matchList(smallPort)).status).toBe(200);
        expect((await matchList(port)).status).toBe(200);
      });
    });
  });
});
