import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile as execFileCb } from 'node:child_process';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { build } from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import type { AppProcess } from '#launcher';
import { Encoding, MatchSchema } from '../../../libs/proto/src/generated-es/stream/stream_pb.js';
import { AppStack } from '../../../test/support/app-stack.js';
import { launchChromium } from '../../../test/support/chromium.js';
import { failures, order, watch, type Protocol, type Via } from './support/rpc-web-client.js';

const execFile = promisify(execFileCb);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUF = join(ROOT, 'node_modules/.bin/buf');
const PROTOS = join(ROOT, 'libs/proto/proto');
const API_KEY = 'rpc-web-test-key-5e1f0c2a9b';

/** One gRPC-Web / Connect message frame: flags, big-endian length, bytes. */
function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/** The frames of a gRPC-Web or Connect streaming body. */
function envelopes(body: Buffer): Array<{ flags: number; data: Buffer }> {
  const out = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = body.readUInt32BE(at + 1);
    out.push({ flags: body[at], data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

/** Kilobytes of the resident set of `pid` now (VmRSS). */
function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

const VIAS: Array<[Protocol, boolean]> = [
  ['grpcweb', true],
  ['grpcweb', false],
  ['connect', true],
  ['connect', false],
];

// Generous timeouts: the machine these run on may be shared by several test runs.
describe(
  'gRPC-Web and Connect through the gateway, against the real apps',
  { timeout: 120_000 },
  () => {
    let stack: AppStack;
    let work: string;
    let cheese: AppProcess;
    let soccer: AppProcess;
    let base: string;

    beforeAll(async () => {
      stack = await AppStack.start({
        cheese: {},
        soccer: { METRICS_HOST: '127.0.0.1' },
        gateway: { GATEWAY_API_KEYS: API_KEY },
        readyTimeoutMs: 60_000,
      });
      ({ work, origin: base } = stack);
      [cheese, soccer] = [stack.cheese!, stack.soccer!];
    }, 180_000);

    afterAll(() => stack?.stop());

    const via = (protocol: Protocol, binary: boolean): Via => ({ baseUrl: base, protocol, binary });

    it.each(VIAS)(
      'connect-web from Node, %s (binary: %s): Order, and Watch of three frames',
      async (protocol, binary) => {
        expect(await order(via(protocol, binary), 'BRIE')).toMatchObject({ type: 'BRIE' });
        const frames = await watch(via(protocol, binary), 'demo', 3);
        expect(frames).toEqual(
          [0, 1, 2].map((seq) => ({ seq, shape: '(360, 640, 3)', encoding: 'JPEG', jpeg: true })),
        );
      },
    );

    it.each(VIAS)(
      "%s (binary: %s) carries the services' rich errors: code, message, google.rpc details",
      async (protocol, binary) => {
        const { order: orderError, watch: watchError } = await failures(via(protocol, binary));
        expect(orderError).toEqual({
          code: Code.InvalidArgument,
          message: expect.stringMatching(/^unknown cheese type 42; valid types: EMMENTAL \(0\)/),
          errorInfo: [{ reason: 'UNKNOWN_CHEESE_TYPE', domain: 'cheesefarm.CheeseService' }],
          fieldViolations: ['type'],
          resources: [],
        });
        expect(watchError).toEqual({
          code: Code.NotFound,
          message: 'no match no-such-match',
          errorInfo: [{ reason: 'MATCH_NOT_FOUND', domain: 'stream.Soccer' }],
          fieldViolations: [],
          resources: ['match/no-such-match'],
        });
      },
    );

    it.each(['grpcweb', 'connect'])(
      'buf curl --protocol %s calls Order and Watch through the gateway',
      async (protocol) => {
        const curl = (method: string, data: object) =>
          execFile(BUF, [
            'curl',
            '--schema',
            PROTOS,
            '--protocol',
            protocol,
            '-d',
            JSON.stringify(data),
            `${base}/${method}`,
          ]);
        const ordered = await curl('cheesefarm.CheeseService/Order', { type: 'PECORINO' });
        expect(JSON.parse(ordered.stdout)).toMatchObject({ type: 'PECORINO' });
        const watched = await curl('stream.Soccer/Watch', {
          id: 'demo',
          encoding: 'JPEG',
          maxFrames: 2,
        });
        // One JSON document per message.
        const frames = watched.stdout.split(/\n(?=\{)/).map((m) => JSON.parse(m) as object);
        expect(frames).toEqual([
          expect.objectContaining({ dataShape: '(360, 640, 3)', encoding: 'JPEG' }),
          expect.objectContaining({ seq: '1', ptsMs: '40' }),
        ]);
        // And buf curl reads the errors, details included.
        const failed = await curl('cheesefarm.CheeseService/Order', { type: 42 }).catch(
          (err: { stdout: string; stderr: string }) => err,
        );
        const error = JSON.parse(
          'stdout' in failed && failed.stdout ? failed.stdout : failed.stderr,
        ) as {
          code: string;
          details: Array<{ type: string }>;
        };
        expect(error.code).toBe('invalid_argument');
        expect(error.details.map((d) => d.type)).toEqual([
          'google.rpc.ErrorInfo',
          'google.rpc.BadRequest',
        ]);
      },
    );

    it('an unknown method or service is UNIMPLEMENTED, in each protocol; other POSTs stay 404', async () => {
      for (const path of ['/cheesefarm.CheeseService/Refund', '/nope.Nothing/Order']) {
        const web = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
          body: envelope(new Uint8Array()),
        });
        expect(web.status, path).toBe(200);
        // The status is in the trailers: a header-only answer, or the trailer frame.
        const trailers = envelopes(Buffer.from(await web.arrayBuffer()))
          .filter((e) => e.flags & 0x80)
          .map((e) => e.data.toString());
        expect(`${web.headers.get('grpc-status') ?? ''} ${trailers.join()}`, path).toMatch(
          new RegExp(`(^|grpc-status: ?)${Code.Unimplemented}\\b`),
        );
        const connect = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'connect-protocol-version': '1' },
          body: '{}',
        });
        expect(connect.status, path).toBe(501);
        expect(await connect.json(), path).toMatchObject({ code: 'unimplemented' });
      }
      const rest = await fetch(`${base}/v1/cheeses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(rest.status).toBe(404);
      expect(await rest.json()).toEqual({
        code: 5,
        status: 'NOT_FOUND',
        message: 'Cannot POST /v1/cheeses',
      });
    });

    it('a method whose requests stream in (Upload) needs the API key, as PUT video does', async () => {
      const chunk = envelope(new Uint8Array([0x0a, 0x01, 0x78])); // UploadChunk{id: "x"}
      const refused = await fetch(`${base}/stream.Soccer/Upload`, {
        method: 'POST',
        headers: { 'content-type': 'application/connect+proto', 'connect-protocol-version': '1' },
        body: chunk,
      });
      expect(refused.status).toBe(200);
      const [end] = envelopes(Buffer.from(await refused.arrayBuffer()));
      expect(end.flags & 0x02).toBe(0x02); // Connect's end-of-stream message
      expect(JSON.parse(end.data.toString())).toMatchObject({
        error: { code: 'unauthenticated', message: expect.stringMatching(/API key/) as unknown },
      });
    });

    it('Say needs the API key too, as POST chat does; with it, a made-up session is NOT_FOUND', async () => {
      const say = (headers: Record<string, string>) =>
        fetch(`${base}/stream.Soccer/Say`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'connect-protocol-version': '1', ...headers },
          body: JSON.stringify({ matchId: 'demo', sessionToken: 'A'.repeat(43), text: 'hi' }),
        });
      const refused = await say({});
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(/API key/) as unknown });
      const unknown = await say({ 'x-api-key': API_KEY });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ code: 'not_found', message: 'no chat session with this token in match demo' });
    }); // prettier-ignore

    it("shares the REST routes' request ids, logs and metrics", async () => {
      const requestId = 'rpc-web-request-id-1';
      await order(via('connect', true), 'CANASTRA', { 'x-request-id': requestId });
      // The id went from the HTTP request to cheese-service's log line of the call.
      const logged = () =>
        cheese.logs.split('\n').some((l) => l.includes(requestId) && l.includes('Order'));
      for (let i = 0; i < 50 && !logged(); i++) await sleep(100);
      expect(logged()).toBe(true);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /http_requests_total\{[^}]*route="\/:service\/:method"[^}]*status_code="200"[^}]*\} [1-9]/,
      );
      // And counted as the REST routes' calls are, by the gRPC client metrics.
      expect(metrics).toMatch(
        /grpc_client_handled_total\{grpc_service="cheesefarm.CheeseService",grpc_method="Order"[^}]*grpc_code="OK"\} [1-9]/,
      );
    });

    // A gateway of its own: one that the tests above have used holds more
    // heap, and its RSS grows by 13-20 MB here against 8-10 alone, up to
    // 33 MB once in CI; the growth this measures is the stream's.
    describe('a slow reader', () => {
      let paced: AppStack;

      beforeAll(async () => {
        paced = await AppStack.start({
          cheese: {},
          soccer: { METRICS_HOST: '127.0.0.1' },
          gateway: {},
          readyTimeoutMs: 60_000,
        });
      }, 180_000);

      afterAll(() => paced?.stop());

      it('is paced: the service stops producing, the gateway does not buffer', async () => {
        const framesSent = async () => {
          const text = await (await fetch(paced.soccerMetrics)).text();
          return Number(
            /soccer_watch_frames_sent_total\{encoding="RAW"\} (\d+)/.exec(text)?.[1] ?? 0,
          );
        };
        const before = await framesSent();
        // Raw frames (691 kB each) of the endless match, as fast as the reader takes them.
        const match = toBinary(
          MatchSchema,
          create(MatchSchema, { id: 'live', encoding: Encoding.RAW }),
        );
        const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
          const req = request(`${paced.origin}/stream.Soccer/Watch`, {
            method: 'POST',
            headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' },
          });
          req.on('response', resolve).on('error', reject);
          req.end(envelope(match));
        });
        expect(res.statusCode).toBe(200);
        // Read two frames' worth, then stop reading.
        let received = 0;
        await new Promise<void>((resolve) => {
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > 2 * 691_200) {
              res.pause();
              resolve();
            }
          });
        });
        const rssBefore = rssKb(paced.gateway!.child.pid!);
        // Wait until the service has stopped producing (the count holds for 2 s).
        let sent = await framesSent();
        for (let stable = 0, i = 0; stable < 4 && i < 60; i++) {
          await sleep(500);
          const now = await framesSent();
          stable = now === sent ? stable + 1 : 0;
          sent = now;
        }
        const produced = sent - before;
        const grownKb = rssKb(paced.gateway!.child.pid!) - rssBefore;
        console.log(
          `stalled gRPC-Web reader: service produced ${produced} raw frames, gateway RSS +${grownKb} kB`,
        );
        // Unpaced, the renderer makes hundreds of frames a second; paced, it stops at
        // what the buffers between the two hold: HTTP/2 windows, grpc-js's read-ahead
        // (16 messages), the sockets.
        expect(produced).toBeLessThan(80);
        expect(grownKb).toBeLessThan(30 * 1024);
        res.destroy();
      });
    });

    describe('from Chromium, on the page origin', () => {
      let browser: BrowserContext;
      let bundle: string;

      beforeAll(async () => {
        const built = await build({
          entryPoints: [fileURLToPath(new URL('./support/rpc-web-page.ts', import.meta.url))],
          bundle: true,
          write: false,
          format: 'iife',
          target: 'es2022',
          logLevel: 'warning',
        });
        bundle = built.outputFiles[0].text;
        browser = await launchChromium(join(work, 'profile'));
      }, 120_000);

      afterAll(async () => {
        await browser?.close();
      });

      /** A tab on the gateway's own page, with the connect-web clients loaded. */
      async function openPage() {
        const page = await browser.newPage();
        await page.goto(`${base}/`);
        // evaluate() is not a page script: the page's CSP (script-src 'self')
        // still governs what it fetches (connect-src 'self').
        await page.evaluate(bundle);
        return page;
      }

      it.each(VIAS)(
        '%s (binary: %s): Order, Watch and the rich errors',
        async (protocol, binary) => {
          const page = await openPage();
          const target = { baseUrl: base, protocol, binary };
          type RpcWeb = {
            order: typeof order;
            watch: typeof watch;
            failures: typeof failures;
          };
          const result = await page.evaluate(async (v) => {
            const { rpcWeb } = globalThis as unknown as { rpcWeb: RpcWeb };
            return {
              cheese: await rpcWeb.order(v, 'ROQUEFORT'),
              frames: await rpcWeb.watch(v, 'demo', 2),
              failures: await rpcWeb.failures(v),
            };
          }, target);
          expect(result.cheese.type).toBe('ROQUEFORT');
          expect(result.frames.map((f) => f.seq)).toEqual([0, 1]);
          expect(result.failures.order.fieldViolations).toEqual(['type']);
          expect(result.failures.watch.resources).toEqual(['match/no-such-match']);
          await page.close();
        },
      );

      it('a browser that goes away cancels the upstream Watch', async () => {
        const cancelled = () =>
          soccer.logMessages.split('\n').filter((l) => /Watch "live" cancelled/.test(l)).length;
        const before = cancelled();
        const page = await openPage();
        await page.evaluate(
          (v) => {
            const g = globalThis as unknown as {
              rpcWeb: {
                watchForever: (v: Via, p: { frames: number }) => void;
                progress: { frames: number };
              };
            };
            g.rpcWeb.watchForever(v, g.rpcWeb.progress);
          },
          via('grpcweb', true),
        );
        await page.waitForFunction(
          () =>
            (globalThis as unknown as { rpcWeb: { progress: { frames: number } } }).rpcWeb.progress
              .frames >= 3,
          undefined,
          { timeout: 20_000 },
        );
        await page.close();
        for (let i = 0; i < 100 && cancelled() === before; i++) await sleep(100);
        expect(cancelled()).toBe(before + 1);
      });
    });
  },
);
