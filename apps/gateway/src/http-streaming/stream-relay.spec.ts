import { PassThrough } from 'node:stream';
import { GatewayTimeoutException, ServiceUnavailableException } from '@nestjs/common';
import { Metadata, status } from '@grpc/grpc-js';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ApiErrorBody } from '../openapi/models.js';
import { OpenStreams, SHUTTING_DOWN } from './open-streams.js';
import { StreamRelay, type RelayOptions, type StreamSink } from './stream-relay.js';

/** A sink that writes what it is told as lines into the response, and keeps a log of calls. */
class RecordingSink implements StreamSink<string> {
  readonly calls: string[] = [];
  constructor(private readonly res: PassThrough) {}
  open() {
    this.calls.push('open');
  }
  next(message: string) {
    this.calls.push(`next ${message}`);
    this.res.write(`${message}\n`);
  }
  end() {
    this.calls.push('end');
    this.res.end();
  }
  fail(error: ApiErrorBody) {
    this.calls.push(`fail ${error.status}`);
    this.res.end();
  }
  release() {
    this.calls.push('release');
  }
}

function grpcError(code: status, details: string): Error {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

/** One relayed stream from a Subject into a PassThrough, with everything to look at. */
function setUp(options: Partial<RelayOptions<string>> = {}) {
  const openStreams = new OpenStreams();
  const source = new Subject<string>();
  const res = new PassThrough();
  const sink = new RecordingSink(res);
  const hooks: string[] = [];
  let hijacked = 0;
  const relayed = new StreamRelay(openStreams).relay({
    source,
    target: { res, hijack: () => hijacked++ },
    sink,
    firstMessageMs: 60_000,
    late: () => new GatewayTimeoutException('no first message in time'),
    name: 'Test stream',
    onSubscribed: () => hooks.push('subscribed'),
    onStarted: () => hooks.push('started'),
    onEnded: () => hooks.push('ended'),
    ...options,
  });
  const outcome = relayed.started.then(
    () => 'resolved',
    (err: Error) => err,
  );
  return {
    openStreams,
    source,
    res,
    sink,
    hooks,
    relayed,
    outcome,
    hijacked: () => hijacked,
    /** Nothing of the relay is left reachable from the response, the source or the shutdown. */
    letGo: () => {
      expect(source.observed).toBe(false);
      expect(res.listenerCount('close')).toBe(0);
      const before = sink.calls.length;
      openStreams.beforeApplicationShutdown();
      expect(sink.calls.length).toBe(before);
      expect(sink.calls.filter((c) => c === 'release')).toHaveLength(1);
      expect(hooks.filter((h) => h === 'ended')).toHaveLength(1);
    },
  };
}

describe('StreamRelay', () => {
  it('opens at the first message, relays each one, ends with the source and lets go', async () => {
    const t = setUp();
    expect(t.hooks).toEqual(['subscribed']);
    expect(t.hijacked()).toBe(0);
    t.source.next('a');
    expect(await t.outcome).toBe('resolved');
    t.source.next('b');
    t.source.complete();
    expect(t.sink.calls).toEqual(['open', 'next a', 'next b', 'end', 'release']);
    expect(t.hooks).toEqual(['subscribed', 'started', 'ended']);
    expect(t.hijacked()).toBe(1);
    expect(String(t.res.read())).toBe('a\nb\n');
    t.letGo();
  });

  it('the source ending before any message still opens, then ends', async () => {
    const t = setUp();
    t.source.complete();
    expect(await t.outcome).toBe('resolved');
    expect(t.sink.calls).toEqual(['open', 'end', 'release']);
    t.letGo();
  });

  it('an error before the first message is an HTTP error: nothing opened, nothing hijacked', async () => {
    const t = setUp();
    const error = grpcError(status.NOT_FOUND, 'no match nope');
    t.source.error(error);
    expect(await t.outcome).toBe(error);
    expect(t.sink.calls).toEqual(['release']);
    expect(t.hijacked()).toBe(0);
    t.letGo();
  });

  it('an error after the first message is the last event, with its status', async () => {
    const t = setUp();
    t.source.next('a');
    t.source.error(grpcError(status.INTERNAL, 'decoder died'));
    expect(await t.outcome).toBe('resolved');
    expect(t.sink.calls).toEqual(['open', 'next a', 'fail INTERNAL', 'release']);
    t.letGo();
  });

  it('the client going away before the first message cancels the source and answers nothing', async () => {
    const t = setUp();
    t.res.destroy();
    expect(await t.outcome).toBe('resolved');
    expect(t.hijacked()).toBe(1); // Fastify must not answer a gone client
    expect(t.sink.calls).toEqual(['release']);
    t.letGo();
  });

  it('the client going away mid-stream cancels the source and releases the sink, nothing more', async () => {
    const t = setUp();
    t.source.next('a');
    t.res.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    t.source.next('b');
    expect(t.sink.calls).toEqual(['open', 'next a', 'release']);
    t.letGo();
  });

  it('a first message later than firstMessageMs fails the request with late()', async () => {
    const t = setUp({ firstMessageMs: 10 });
    const err = await t.outcome;
    expect(err).toBeInstanceOf(GatewayTimeoutException);
    expect(t.sink.calls).toEqual(['release']);
    t.letGo();
  });

  it('the shutdown answers 503 before the first message', async () => {
    const t = setUp();
    t.openStreams.beforeApplicationShutdown();
    const err = await t.outcome;
    expect(err).toBeInstanceOf(ServiceUnavailableException);
    expect((err as Error).message).toBe(SHUTTING_DOWN.message);
    t.letGo();
  });

  it('the shutdown ends a running stream with UNAVAILABLE', () => {
    const t = setUp();
    t.source.next('a');
    t.openStreams.beforeApplicationShutdown();
    expect(t.sink.calls).toEqual(['open', 'next a', 'fail UNAVAILABLE', 'release']);
    t.letGo();
  });

  it('stop() ends a running stream with the error given (a reader too slow)', () => {
    const t = setUp();
    t.source.next('a');
    t.relayed.stop({
      code: status.RESOURCE_EXHAUSTED,
      status: 'RESOURCE_EXHAUSTED',
      message: 'slow',
    });
    t.relayed.stop({ code: status.INTERNAL, status: 'INTERNAL', message: 'twice' });
    expect(t.sink.calls).toEqual(['open', 'next a', 'fail RESOURCE_EXHAUSTED', 'release']);
    t.letGo();
  });

  it('lets the source begin once subscribed (a Subject has no memory)', async () => {
    const requests = new Subject<string>();
    const source = new Subject<string>();
    requests.subscribe((r) => source.next(`echo ${r}`));
    const t = setUp({ source, onSubscribed: () => requests.next('join') });
    expect(await t.outcome).toBe('resolved');
    expect(t.sink.calls).toEqual(['open', 'next echo join']);
  });

  it('a response already closed is left alone: nothing subscribed', async () => {
    const res = new PassThrough();
    res.destroy();
    const source = new Subject<string>();
    const sink = new RecordingSink(res);
    const relayed = new StreamRelay(new OpenStreams()).relay({
      source,
      target: { res, hijack: () => undefined },
      sink,
      firstMessageMs: 1000,
      late: () => new Error('late'),
      name: 'Test stream',
    });
    await relayed.started;
    expect(source.observed).toBe(false);
    expect(sink.calls).toEqual(['release']);
  });
});
