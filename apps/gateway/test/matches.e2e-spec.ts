import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { AppProcess } from '#launcher';
import { AppStack } from '../../../test/support/app-stack.js';
import { grpcMethod, metricSum } from '../../../test/support/metrics.js';
import { SseClient } from './support/sse-client.js';

interface Frame {
  seq: number;
  ptsMs: number;
  encoding: string;
  shape: string;
  data: string;
}

interface ApiError {
  code: number;
  status: string;
  message: string;
}

/** Kilobytes of the resident set of `pid` now (VmRSS). */
function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]);
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Splits a multipart/x-mixed-replace body into its parts, by their Content-Length. */
function multipartParts(body: Buffer, boundary: string): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const delimiter = body.indexOf(`--${boundary}`, at);
    if (delimiter < 0) throw new Error('missing closing delimiter');
    const afterDelimiter = delimiter + boundary.length + 2;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return parts;
    const headerEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    const headers = body.subarray(afterDelimiter, headerEnd).toString();
    expect(headers).toMatch(/Content-Type: image\/jpeg/i);
    const length = Number(/Content-Length: (\d+)/i.exec(headers)![1]);
    parts.push(body.subarray(headerEnd + 4, headerEnd + 4 + length));
    at = headerEnd + 4 + length;
  }
}

describe('gateway /v1/matches -> soccer-service over real sockets', () => {
  let stack: AppStack;
  let gateway: AppProcess;
  let base: string;
  let soccerMetrics: string;

  beforeAll(async () => {
    stack = await AppStack.start({ soccer: {} });
    ({ soccerMetrics, origin: base } = stack);
    gateway = stack.gateway!;
  });

  afterAll(() => stack?.stop());

  it('GET /v1/matches lists the built-in matches', async () => {
    const res = await fetch(`${base}/v1/matches`);
    expect(res.status).toBe(200);
    const { matches } = (await res.json()) as { matches: Array<Record<string, unknown>> };
    expect(matches).toEqual(
      expect.arrayContaining([
        {
          id: 'demo',
          source: 'SYNTHETIC',
          sizeBytes: 0,
          durationMs: 10_000,
          width: 640,
          height: 360,
          fps: 25,
          live: false,
        },
        expect.objectContaining({ id: 'live', source: 'SYNTHETIC', live: true }),
      ]),
    );
  });

  it('SSE watch of demo with maxFrames=5: five JPEG frames of 640x360, then end', async () => {
    const sse = await SseClient.open(`${base}/v1/matches/demo/watch?maxFrames=5&fps=0`);
    expect(sse.status).toBe(200);
    expect(sse.res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = await sse.until('end');
    expect(events.map((e) => e.event)).toEqual([
      'frame',
      'frame',
      'frame',
      'frame',
      'frame',
      'end',
    ]);
    const frames = events.slice(0, 5).map((e) => JSON.parse(e.data) as Frame);
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(frames.map((f) => f.ptsMs)).toEqual([0, 40, 80, 120, 160]);
    for (const frame of frames) {
      expect(frame).toMatchObject({ encoding: 'JPEG', shape: '(360, 640, 3)' });
      const image = await sharp(Buffer.from(frame.data, 'base64')).metadata();
      expect(image).toMatchObject({ format: 'jpeg', width: 640, height: 360 });
    }
    expect(await sse.next()).toBeUndefined(); // the stream is closed after `end`
  });

  it('SSE watch with encoding=raw: BGR frames of 640*360*3 bytes, shape "(360, 640, 3)"', async () => {
    const sse = await SseClient.open(
      `${base}/v1/matches/demo/watch?encoding=raw&maxFrames=2&fps=0`,
    );
    expect(sse.status).toBe(200);
    const events = await sse.until('end');
    expect(events.map((e) => e.event)).toEqual(['frame', 'frame', 'end']);
    for (const event of events.slice(0, 2)) {
      const frame = JSON.parse(event.data) as Frame;
      expect(frame.encoding).toBe('RAW');
      expect(frame.shape).toBe('(360, 640, 3)');
      expect(Buffer.from(frame.data, 'base64').length).toBe(640 * 360 * 3);
    }
  });

  it('MJPEG stream: a multipart/x-mixed-replace body of JPEG parts', async () => {
    const res = await fetch(`${base}/v1/matches/demo/stream.mjpeg?maxFrames=3&fps=0`);
    expect(res.status).toBe(200);
    const type = res.headers.get('content-type')!;
    const boundary = /^multipart\/x-mixed-replace; boundary=(.+)$/.exec(type)?.[1];
    expect(boundary).toBeTruthy();
    const parts = multipartParts(Buffer.from(await res.arrayBuffer()), boundary!);
    expect(parts).toHaveLength(3);
    for (const jpeg of parts) {
      const image = await sharp(jpeg).metadata();
      expect(image).toMatchObject({ format: 'jpeg', width: 640, height: 360 });
    }
  });

  it.each<[string, string, number, string, RegExp]>([
    ['bad id', '/v1/matches/bad.id/watch', 400, 'INVALID_ARGUMENT', /id must match/],
    ['too long id', `/v1/matches/${'a'.repeat(65)}/watch`, 400, 'INVALID_ARGUMENT', /id must/],
    ['bad id (MJPEG)', '/v1/matches/a%20b/stream.mjpeg', 400, 'INVALID_ARGUMENT', /id must/],
    ['unknown id', '/v1/matches/nosuchmatch/watch', 404, 'NOT_FOUND', /nosuchmatch/],
    ['unknown id (MJPEG)', '/v1/matches/nosuchmatch/stream.mjpeg', 404, 'NOT_FOUND', /nosuch/],
    ['fps=-1', '/v1/matches/demo/watch?fps=-1', 400, 'INVALID_ARGUMENT', /fps/],
    ['fps=121', '/v1/matches/demo/watch?fps=121', 400, 'INVALID_ARGUMENT', /fps/],
    ['fps=1.5', '/v1/matches/demo/watch?fps=1.5', 400, 'INVALID_ARGUMENT', /fps/],
    ['fps=abc', '/v1/matches/demo/stream.mjpeg?fps=abc', 400, 'INVALID_ARGUMENT', /fps/],
    ['fps empty', '/v1/matches/demo/watch?fps=', 400, 'INVALID_ARGUMENT', /fps/],
    ['maxFrames=-5', '/v1/matches/demo/watch?maxFrames=-5', 400, 'INVALID_ARGUMENT', /maxFrames/],
    ['maxFrames=x', '/v1/matches/demo/watch?maxFrames=x', 400, 'INVALID_ARGUMENT', /maxFrames/],
    ['huge maxFrames', '/v1/matches/demo/watch?maxFrames=9999999', 400, 'INVALID_ARGUMENT', /max/],
    ['encoding=png', '/v1/matches/demo/watch?encoding=png', 400, 'INVALID_ARGUMENT', /encoding/],
    ['quality=0', '/v1/matches/demo/watch?quality=0', 400, 'INVALID_ARGUMENT', /quality/],
    ['unknown query', '/v1/matches/demo/watch?speed=2', 400, 'INVALID_ARGUMENT', /speed/],
  ])('%s -> %i %s, before any frame', async (_name, path, httpStatus, grpcStatus, message) => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(httpStatus);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const error = (await res.json()) as ApiError;
    // An error soccer-service answered (NOT_FOUND) carries its google.rpc details.
    expect(Object.keys(error).sort()).toEqual(
      httpStatus === 404 ? ['code', 'details', 'message', 'status'] : ['code', 'message', 'status'],
    );
    expect(error.status).toBe(grpcStatus);
    expect(error.message).toMatch(message);
  });

  it('a slow viewer gets the latest frames, not a queue: gaps in seq, bounded memory', async () => {
    // Raw frames at 25 fps are 23 MB/s of base64: a viewer that stops reading
    // for 6 s would cost ~140 MB if the gateway queued them. Dropped frames
    // still pass through the gateway as garbage, so its RSS moves by what V8
    // lets pile up between collections, but it does not grow with the pause.
    const sse = await SseClient.open(`${base}/v1/matches/live/watch?encoding=raw&fps=25`);
    expect((await sse.next())!.event).toBe('frame');
    const before = rssKb(gateway.child.pid!);
    sse.res.pause();
    let peak = before;
    for (let i = 0; i < 60; i++) {
      await sleep(100);
      peak = Math.max(peak, rssKb(gateway.child.pid!));
    }
    sse.res.resume();
    const seqs: number[] = [];
    for (let i = 0; i < 40; i++) seqs.push((JSON.parse((await sse.next())!.data) as Frame).seq);
    sse.close();
    // What the socket buffers held comes first, in order; then a jump to the present.
    const gaps = seqs.slice(1).filter((seq, i) => seq - seqs[i] > 1);
    console.log(
      `slow viewer paused 6 s: gateway RSS peak +${peak - before} kB; seq ${seqs.join()}`,
    );
    expect(gaps.length).toBeGreaterThan(0);
    expect(peak - before).toBeLessThan(100 * 1024);
  });

  it('a viewer going away cancels the Watch call at once (service metrics), 200 times over', async () => {
    // soccer-service counts each Watch call as it starts, as it ends (by status), and while open.
    const watch = grpcMethod('stream.Soccer', 'Watch');
    const count = (name: string, labels: Record<string, string> = {}) =>
      metricSum(soccerMetrics, name, { ...watch, ...labels });
    const active = () => count('grpc_server_active_streams');
    // Earlier tests' streams are over before the counts are taken: one still
    // open would be counted cancelled here without having started here.
    await expect.poll(active).toBe(0);
    const startedAtFirst = await count('grpc_server_started_total');
    const cancelledAtFirst = await count('grpc_server_handled_total', { grpc_code: 'CANCELLED' });
    const started = async () => (await count('grpc_server_started_total')) - startedAtFirst;
    const cancelled = async () =>
      (await count('grpc_server_handled_total', { grpc_code: 'CANCELLED' })) - cancelledAtFirst;
    const cycle = async () => {
      const sse = await SseClient.open(`${base}/v1/matches/live/watch?fps=0`);
      expect((await sse.next())!.event).toBe('frame');
      sse.close();
    };
    const settled = async () => {
      const deadline = Date.now() + 30_000;
      while ((await cancelled()) < (await started()) || (await active()) > 0) {
        if (Date.now() > deadline) break;
        await sleep(20);
      }
      return (await cancelled()) === (await started()) && (await active()) === 0;
    };

    const pid = gateway.child.pid!;
    for (let i = 0; i < 20; i++) await cycle(); // warm-up: JIT, pools
    expect(await settled()).toBe(true);
    const rssBefore = rssKb(pid);
    const fdsBefore = openFds(pid);

    const t0 = Date.now();
    const startedBefore = await started();
    for (let i = 0; i < 200; i++) await cycle();
    const elapsed = Date.now() - t0;
    expect((await started()) - startedBefore).toBe(200);
    // Every one of those calls was cancelled, none left running in the service.
    expect(await settled()).toBe(true);
    expect(openFds(pid)).toBeLessThanOrEqual(fdsBefore + 5);
    expect(rssKb(pid) - rssBefore).toBeLessThan(30 * 1024);
    console.log(`200 watch connect/disconnect cycles in ${elapsed} ms`);

    // And the service still serves.
    const sse = await SseClient.open(`${base}/v1/matches/demo/watch?maxFrames=1&fps=0`);
    expect((await sse.until('end')).map((e) => e.event)).toEqual(['frame', 'end']);
  });

  it('measures SSE throughput (JPEG, fps=0) for the record', async () => {
    const sse = await SseClient.open(`${base}/v1/matches/demo/watch?maxFrames=250&fps=0`);
    const t0 = Date.now();
    const events = await sse.until('end');
    const seconds = (Date.now() - t0) / 1000;
    expect(events).toHaveLength(251);
    console.log(`SSE demo, JPEG, fps=0: ${(250 / seconds).toFixed(0)} frames/s`);
  });

  describe('chat', () => {
    const post = (id: string, body: unknown) =>
      fetch(`${base}/v1/matches/${id}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const join = async (room: string, user: string) => {
      const sse = await SseClient.open(
        `${base}/v1/matches/${room}/chat?user=${encodeURIComponent(user)}`,
      );
      expect(sse.status).toBe(200);
      const joined = (await sse.next())!;
      expect(joined.event).toBe('joined');
      const { sessionId } = JSON.parse(joined.data) as { sessionId: string };
      expect(sessionId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      return { sse, sessionId };
    };

    interface ChatView {
      seq: number;
      sentAtMs: number;
      user: string;
      text: string;
      event: string;
    }

    /** Chat messages (MESSAGE events only) until `count` have arrived. */
    const messages = async (sse: SseClient, count: number): Promise<ChatView[]> => {
      const seen: ChatView[] = [];
      while (seen.length < count) {
        const e = (await sse.next())!;
        expect(e.event).toBe('message');
        const m = JSON.parse(e.data) as ChatView;
        if (m.event === 'MESSAGE') seen.push(m);
      }
      return seen;
    };

    it('two members see each other’s messages, in the same order', async () => {
      const alice = await join('chatroom1', 'alice');
      const bob = await join('chatroom1', 'bob');
      const said = await Promise.all([
        post('chatroom1', { sessionId: alice.sessionId, text: 'a1' }),
        post('chatroom1', { sessionId: bob.sessionId, text: 'b1' }),
        post('chatroom1', { sessionId: alice.sessionId, text: 'a2' }),
        post('chatroom1', { sessionId: bob.sessionId, text: 'b2 ünïcødé ⚽' }),
      ]);
      expect(said.map((r) => r.status)).toEqual([202, 202, 202, 202]);
      const seenByAlice = await messages(alice.sse, 4);
      const seenByBob = await messages(bob.sse, 4);
      expect(seenByBob).toEqual(seenByAlice);
      expect(seenByAlice.map((m) => m.text).sort()).toEqual(['a1', 'a2', 'b1', 'b2 ünïcødé ⚽']);
      expect(seenByAlice.filter((m) => m.user === 'alice').map((m) => m.text)).toEqual([
        'a1',
        'a2',
      ]);
      const seqs = seenByAlice.map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

      // Alice leaves: Bob is told, and her session id is forgotten.
      alice.sse.close();
      let left: ChatView | undefined;
      while (!left) {
        const m = JSON.parse((await bob.sse.next())!.data) as ChatView;
        if (m.event === 'LEFT') left = m;
      }
      expect(left.user).toBe('alice');
      const late = await post('chatroom1', { sessionId: alice.sessionId, text: 'still here?' });
      expect(late.status).toBe(404);
      bob.sse.close();
    });

    it.each<[string, string, unknown, number, RegExp]>([
      ['unknown session', 'chatroom2', { sessionId: 'nope', text: 'hi' }, 404, /no chat session/],
      ['missing text', 'chatroom2', { sessionId: 'x' }, 400, /text/],
      ['empty text', 'chatroom2', { sessionId: 'x', text: '' }, 400, /text/],
      ['bad room id', 'bad.room', { sessionId: 'x', text: 'hi' }, 400, /id must match/],
    ])('POST %s -> %i', async (_name, room, body, httpStatus, message) => {
      const res = await post(room, body);
      expect(res.status).toBe(httpStatus);
      expect(((await res.json()) as ApiError).message).toMatch(message);
    });

    it('a session belongs to its room; a too long text is refused without ending it', async () => {
      const carol = await join('chatroom3', 'carol');
      const elsewhere = await post('chatroom4', { sessionId: carol.sessionId, text: 'hi' });
      expect(elsewhere.status).toBe(404);
      const long = await post('chatroom3', { sessionId: carol.sessionId, text: 'x'.repeat(501) });
      expect(long.status).toBe(400);
      expect(((await long.json()) as ApiError).message).toMatch(/at most 500/);
      const ok = await post('chatroom3', { sessionId: carol.sessionId, text: 'still in' });
      expect(ok.status).toBe(202);
      expect((await messages(carol.sse, 1))[0].text).toBe('still in');
      carol.sse.close();
    });

    it('a refused join (bad user name) is a plain HTTP 400, not an event stream', async () => {
      const sse = await SseClient.open(`${base}/v1/matches/chatroom5/chat?user=%01bad`);
      expect(sse.status).toBe(400);
      expect(sse.res.headers['content-type']).toMatch(/^application\/json/);
      expect((JSON.parse(await sse.text()) as ApiError).status).toBe('INVALID_ARGUMENT');
      const missing = await fetch(`${base}/v1/matches/chatroom5/chat`);
      expect(missing.status).toBe(400);
    });
  });

  // Last: it stops the gateway.
  it('shutdown ends open streams (event: error UNAVAILABLE) and the gateway exits', async () => {
    const watch = await SseClient.open(`${base}/v1/matches/live/watch?fps=5`);
    expect((await watch.next())!.event).toBe('frame');
    const chat = await SseClient.open(`${base}/v1/matches/chatroom9/chat?user=dave`);
    expect((await chat.next())!.event).toBe('joined');
    const t0 = Date.now();
    const exit = gateway.stop('SIGTERM', 10_000);
    for (const sse of [watch, chat]) {
      const events = await sse.until('error');
      const error = JSON.parse(events.pop()!.data) as ApiError;
      expect(error).toMatchObject({ code: 14, status: 'UNAVAILABLE' });
      expect(await sse.next()).toBeUndefined();
    }
    // Nest closes the app, then re-raises the signal it caught.
    expect(await exit).toMatch(/^(0|on SIGTERM)$/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
