import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  Metadata,
  status as GrpcStatus,
  Server,
  ServerCredentials,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { AppProcess, freePort } from '#launcher';
import { GRPC_SERVICES, grpcServiceName, loadServiceProto, richRpcException } from '#proto';

const execFile = promisify(execFileCb);

/** The status line and headers of a GET, and its body once `read` says so (then closed). */
function head(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, resolve).on('error', reject);
  });
}

async function body(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface ApiError {
  code: number;
  status: string;
  message: string;
  details?: Array<Record<string, unknown>>;
}

// Generous timeouts: the machine these run on may be shared by several test runs.
describe(
  'gateway HTTP niceties and rich errors, against the real apps',
  { timeout: 120_000 },
  () => {
    let work: string;
    let cheese: AppProcess;
    let soccer: AppProcess;
    let gateway: AppProcess;
    let tightGateway: AppProcess;
    let base: string;
    let tight: string;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'gateway-niceties-'));
      const [cheesePort, soccerPort, httpPort, tightPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
      [cheese, soccer] = await Promise.all([
        // Each order takes 1.5 s: long enough for a shorter deadline to cut it.
        AppProcess.start('cheese-service', {
          port: cheesePort,
          readyTimeoutMs: 60_000,
          env: { CHEESE_GRPC_HOST: '127.0.0.1', CHEESE_PREP_MS: '1500' },
        }),
        AppProcess.start('soccer-service', {
          port: soccerPort,
          readyTimeoutMs: 60_000,
          env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: work },
        }),
      ]);
      const env = {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
        SOCCER_GRPC_URL: `127.0.0.1:${soccerPort}`,
      };
      [gateway, tightGateway] = await Promise.all([
        AppProcess.start('gateway', { port: httpPort, readyTimeoutMs: 60_000, env }),
        // Its maximum deadline is shorter than an order takes.
        AppProcess.start('gateway', {
          port: tightPort,
          readyTimeoutMs: 60_000,
          env: { ...env, GATEWAY_DEADLINE_MS: '1000' },
        }),
      ]);
      base = `http://127.0.0.1:${httpPort}`;
      tight = `http://127.0.0.1:${tightPort}`;
    }, 180_000);

    afterAll(async () => {
      await Promise.all([gateway?.stop(), tightGateway?.stop(), soccer?.stop(), cheese?.stop()]);
      if (work) rmSync(work, { recursive: true, force: true });
    });

    const order = (at: string, headers: Record<string, string> = {}) =>
      fetch(`${at}/v1/cheese/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{"type":"BRIE"}',
      });

    describe('Grpc-Timeout and Request-Timeout', () => {
      it('without one, the order gets the full deadline', async () => {
        expect((await order(base)).status).toBe(200);
      });

      it.each([
        ['grpc-timeout', '300m'],
        ['request-timeout', '0.3'],
      ])('%s: %s cuts the call short: 504 DEADLINE_EXCEEDED', async (name, value) => {
        const res = await order(base, { [name]: value });
        expect(res.status).toBe(504);
        expect(((await res.json()) as ApiError).status).toBe('DEADLINE_EXCEEDED');
      });

      it("a longer one is capped at the gateway's maximum (GATEWAY_DEADLINE_MS)", async () => {
        const res = await order(tight, { 'grpc-timeout': '1H' });
        expect(res.status).toBe(504);
        expect(((await res.json()) as ApiError).status).toBe('DEADLINE_EXCEEDED');
      });

      it.each([
        ['grpc-timeout', '5 seconds'],
        ['grpc-timeout', '123456789S'],
        ['request-timeout', '-1'],
      ])('%s: %j is 400 INVALID_ARGUMENT', async (name, value) => {
        const res = await order(base, { [name]: value });
        expect(res.status).toBe(400);
        expect((await res.json()) as ApiError).toMatchObject({
          status: 'INVALID_ARGUMENT',
          message: expect.stringContaining(name) as unknown,
        });
      });
    });

    describe('compression', () => {
      it.each([
        ['br', brotliDecompressSync],
        ['gzip', gunzipSync],
      ])('JSON answers in %s when asked for', async (encoding, decompress) => {
        const res = await head(`${base}/docs/openapi.json`, { 'accept-encoding': encoding });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-encoding']).toBe(encoding);
        expect(res.headers.vary).toMatch(/accept-encoding/i);
        const doc = JSON.parse(decompress(await body(res)).toString()) as { openapi: string };
        expect(doc.openapi).toMatch(/^3\./);
      });

      it('plain when not asked for', async () => {
        const res = await head(`${base}/docs/openapi.json`, {});
        expect(res.headers['content-encoding']).toBeUndefined();
        res.resume();
      });

      it.each([
        ['SSE', '/v1/matches/demo/watch?maxFrames=2&fps=0', {}, /^text\/event-stream/],
        [
          'NDJSON',
          '/v1/matches/demo/watch?maxFrames=2&fps=0',
          { accept: 'application/x-ndjson' },
          /^application\/x-ndjson/,
        ],
        [
          'MJPEG',
          '/v1/matches/demo/stream.mjpeg?maxFrames=2&fps=0',
          {},
          /^multipart\/x-mixed-replace/,
        ],
      ])('never for streams: %s', async (_name, path, headers, type) => {
        const res = await head(`${base}${path}`, { 'accept-encoding': 'br, gzip', ...headers });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(type);
        expect(res.headers['content-encoding']).toBeUndefined();
        await body(res);
      });
    });

    it('the watch as NDJSON: one {"result": frame} line per frame, then the end', async () => {
      const res = await fetch(`${base}/v1/matches/demo/watch?maxFrames=3&fps=0`, {
        headers: { accept: 'application/x-ndjson' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
      const text = await res.text();
      expect(text.endsWith('\n')).toBe(true);
      const lines = text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { result: { seq: number; shape: string; encoding: string } });
      expect(lines.map((l) => l.result.seq)).toEqual([0, 1, 2]);
      expect(lines[0].result).toMatchObject({ shape: '(360, 640, 3)', encoding: 'JPEG' });
    });

    it('curl -T uploads a match: no Content-Type is taken as application/octet-stream', async () => {
      // Made outside MEDIA_DIR (work), where it would already be a match.
      const video = join(mkdtempSync(join(tmpdir(), 'curl-upload-')), 'clip.mp4');
      execFileSync('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=160x90:rate=10',
        '-t',
        '1',
        '-pix_fmt',
        'yuv420p',
        video,
      ]);
      const { stdout } = await execFile('curl', [
        '-sS',
        '-T',
        video,
        `${base}/v1/matches/clip/video`,
      ]);
      expect(JSON.parse(stdout)).toEqual({
        id: 'clip',
        bytes: readFileSync(video).length,
        sha256: createHash('sha256').update(readFileSync(video)).digest('hex'),
      });
    });

    describe("the services' rich errors in the JSON body", () => {
      it('INVALID_ARGUMENT: ErrorInfo and BadRequest, as grpc-gateway writes them', async () => {
        const res = await fetch(`${base}/v1/cheese/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"type":42}',
        });
        expect(res.status).toBe(400);
        const error = (await res.json()) as ApiError;
        expect(error).toEqual({
          code: 3,
          status: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/^unknown cheese type 42/) as unknown,
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'UNKNOWN_CHEESE_TYPE',
              domain: 'cheesefarm.CheeseService',
              metadata: { type: '42' },
            },
            {
              '@type': 'type.googleapis.com/google.rpc.BadRequest',
              fieldViolations: [{ field: 'type', description: error.message }],
            },
          ],
        });
        expect(Object.keys(error.details![0])[0]).toBe('@type');
      });

      it('NOT_FOUND: ResourceInfo', async () => {
        const res = await fetch(`${base}/v1/matches/no-such-match/watch`);
        expect(res.status).toBe(404);
        expect(((await res.json()) as ApiError).details).toContainEqual({
          '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
          resourceType: 'match',
          resourceName: 'no-such-match',
          description: 'no built-in match and no no-such-match.mp4',
        });
      });
    });
  },
);

/**
 * A cheese-service stand-in that answers UNAVAILABLE with a RetryInfo (by
 * the services' own richRpcException) for its first `failures` calls: the
 * real services give RetryInfo only in states a test cannot call up at will
 * (shutting down, the chat broker gone).
 */
async function unavailableCheese(failures: number, retryDelayMs: number) {
  const arrivals: number[] = [];
  const server = new Server();
  const definition = loadServiceProto('cheese')[grpcServiceName('cheese')] as never;
  server.addService(definition, {
    Order: (_call: unknown, callback: sendUnaryData<unknown>) => {
      arrivals.push(performance.now());
      if (arrivals.length > failures) return callback(null, { type: 1, age: 40 });
      const error = richRpcException(GrpcStatus.UNAVAILABLE, 'overloaded; come back later', {
        reason: 'OVERLOADED',
        domain: grpcServiceName('cheese'),
        retryDelayMs,
      }).getError() as { code: number; message: string; metadata: Metadata };
      callback({ code: error.code, details: error.message, metadata: error.metadata });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, arrivals, stop: () => server.forceShutdown() };
}

describe("the gateway's retries honour RetryInfo", { timeout: 120_000 }, () => {
  it.each([
    [1, 700, 200],
    [5, 1200, 503],
  ])(
    '%i UNAVAILABLE answer(s) with RetryInfo %i ms: retried no sooner; then HTTP %i',
    async (failures, delayMs, httpStatus) => {
      expect(GRPC_SERVICES.cheese.service).toBe('CheeseService');
      const backend = await unavailableCheese(failures, delayMs);
      const port = await freePort();
      const gw = await AppProcess.start('gateway', {
        port,
        readyTimeoutMs: 60_000,
        env: {
          GATEWAY_HTTP_HOST: '127.0.0.1',
          CHEESE_GRPC_URL: `127.0.0.1:${backend.port}`,
          SOCCER_GRPC_URL: '127.0.0.1:1',
        },
      });
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/cheese/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"type":"BRIE"}',
        });
        expect(res.status).toBe(httpStatus);
        const gaps = backend.arrivals.slice(1).map((t, i) => t - backend.arrivals[i]);
        console.log(
          `RetryInfo ${delayMs} ms: attempts ${backend.arrivals.length}, gaps ${gaps.map(Math.round).join(', ')} ms`,
        );
        // grpc-js's own backoff is 50-500 ms; the service's delay wins.
        expect(gaps.length).toBeGreaterThan(0);
        for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(delayMs - 5);
        if (httpStatus === 503) {
          // Out of attempts: the caller is told when to come back.
          expect(res.headers.get('retry-after')).toBe(String(Math.ceil(delayMs / 1000)));
          expect(((await res.json()) as ApiError).details).toContainEqual({
            '@type': 'type.googleapis.com/google.rpc.RetryInfo',
            retryDelay: `${(delayMs / 1000).toFixed(3)}s`,
          });
        }
      } finally {
        await gw.stop();
        backend.stop();
      }
    },
  );
});
