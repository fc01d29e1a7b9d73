import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { constants } from 'node:http2';
import { setImmediate } from 'node:timers/promises';
import type { AppProcess } from '#launcher';
import { parsePrometheusText, sampleSum } from '#observability';
import { AppStack } from '../../../test/support/app-stack.js';
import {
  HTTP2_MAX_CONCURRENT_STREAMS,
  HTTP2_STREAM_RESET_BURST,
  HTTP2_STREAM_RESET_RATE,
  MAX_REFUSED_STREAMS_PER_SESSION,
} from '../src/security/http-hardening.js';
import type { Transport } from './support/hostile-http.js';
import { overHttp2 } from './support/hostile-http2.js';
import { RawHttp2Session } from './support/raw-http2.js';

/** GATEWAY_MAX_STREAMS_PER_IP here. */
const STREAM_CAP = 8;
/** Streams a rapid-reset client opens and resets, as fast as the socket takes them. */
const RESETS = 5000;
/** Watches a flooding client opens at once: past HTTP2_MAX_CONCURRENT_STREAMS. */
const FLOOD = HTTP2_MAX_CONCURRENT_STREAMS + 50;
const WATCH = '/v1/matches/live/watch?fps=1';
const WATCH_ROUTE = { route: '/v1/matches/:id/watch' };
/** Connections a rapid-reset test may need before one reads the server's GOAWAY (rapidReset). */
const ATTEMPTS = 3;
/** Every wait on the gateway ends by this (a test that passes never waits for it). */
const WAIT_MS = 30_000;

/** Stream ids of a client are 1, 3, 5, ...: how many streams up to and including `id`. */
const streamsUpTo = (id: number) => (id + 1) / 2;

/**
 * Floods of HTTP/2 streams (CVE-2023-44487, rapid reset, and plain
 * too-many-streams) against the gateway's TLS listener, from a client that
 * writes frames by hand: node:http2 would queue streams past the server's
 * MAX_CONCURRENT_STREAMS itself, and cannot reset a stream as fast as it
 * opens it. The gateway must refuse each flood within its stream limits
 * (http-hardening's listenerOptions), do bounded work, and serve on.
 */
describe('gateway HTTP/2 listener under stream floods', () => {
  let stack: AppStack;
  let gateway: AppProcess;
  let port: number;
  let ca: Buffer;
  let http2: Transport;
  const sessions: RawHttp2Session[] = [];

  async function rawSession(options?: { ackSettings?: boolean }): Promise<RawHttp2Session> {
    const session = await RawHttp2Session.open(port, ca, options);
    sessions.push(session);
    return session;
  }

  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const answer = await http2.request(port, { path: '/metrics' });
    return sampleSum(parsePrometheusText(answer.body).samples, name, labels);
  }

  /** The gateway serves a new connection, and is the process started at the beginning. */
  async function expectServing(): Promise<void> {
    expect((await http2.request(port, { path: '/healthz' })).status).toBe(200);
    expect(gateway.exited).toBe(false);
  }

  beforeAll(async () => {
    stack = await AppStack.start({
      soccer: { LOG_LEVEL: 'warn' },
      tls: true,
      gateway: {
        GATEWAY_MAX_STREAMS_PER_IP: String(STREAM_CAP),
        GATEWAY_RATE_LIMIT: '0',
        LOG_LEVEL: 'warn',
      },
    });
    ({ port } = stack);
    ca = stack.ca!;
    gateway = stack.gateway!;
    http2 = overHttp2(ca);
  }, 120_000);

  // No session outlives its test, whatever the test did.
  afterEach(() => {
    for (const session of sessions.splice(0)) session.destroy();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /**
   * Opens and resets /healthz streams on a new connection, `batch` per
   * write, until the server ends it (or RESETS, or WAIT_MS): after each
   * batch, as soon as the socket takes more (reading what the server sent
   * first), or, `paced`, once the server has read the batch (a PING's round
   * trip). The server must end the connection with GOAWAY (INTERNAL_ERROR),
   * having taken (GOAWAY's last stream) and handled (counted by Fastify on
   * their close, also when reset) at most `bound(seconds)` streams.
   *
   * The server may reset the connection right after its GOAWAY, while the
   * attacker still writes; Node then destroys the attacker's socket before
   * reading the GOAWAY (about 1 attack in 100 on a busy machine). Such an
   * attack is held to the same bound on handled requests and made again on
   * another connection, up to ATTEMPTS times, until one reads the GOAWAY.
   */
  async function rapidReset(batch: number, paced: boolean, bound: (seconds: number) => number) {
    for (let attempt = 1; ; attempt++) {
      const attacker = await rawSession();
      const handledBefore = await metric('http_requests_total', { route: '/healthz' });
      const started = performance.now();
      const deadline = Date.now() + WAIT_MS;
      while (attacker.opened < RESETS && !attacker.goaway && !attacker.closed) {
        attacker.openStreams('/healthz', batch, { reset: true });
        if (paced) await attacker.roundTrip(WAIT_MS);
        else {
          await attacker.until(() => attacker.writable || attacker.goaway !== undefined, WAIT_MS);
          await setImmediate(); // what the server sent is read before the next batch
        }
        if (Date.now() > deadline) break;
      }
      const goaway = await attacker.until(() => attacker.goaway !== undefined, WAIT_MS);
      expect(goaway || attacker.resetByServer).toBe(true);
      const seconds = (performance.now() - started) / 1000;
      // The server then closes the connection itself.
      expect(await attacker.until(() => attacker.closed, WAIT_MS)).toBe(true);
      const handled = (await metric('http_requests_total', { route: '/healthz' })) - handledBefore;
      expect(handled).toBeLessThanOrEqual(bound(seconds));
      const sent = `rapid reset${paced ? ', paced' : ''}: ${attacker.opened} streams sent in ${seconds.toFixed(2)} s`;
      if (attacker.goaway) {
        expect(attacker.goaway.errorCode).toBe(constants.NGHTTP2_INTERNAL_ERROR);
        const taken = streamsUpTo(attacker.goaway.lastStreamId);
        console.log(
          `${sent}; GOAWAY (INTERNAL_ERROR) after stream ${taken}; ${handled} requests handled`,
        );
        expect(taken).toBeLessThanOrEqual(bound(seconds));
        return;
      }
      console.log(`${sent}; reset by the server, GOAWAY unread; ${handled} requests handled`);
      expect(attempt).toBeLessThan(ATTEMPTS);
    }
  }

  /** Resets the gateway allows: a burst, then a rate per second (nghttp2's token bucket). */
  const resetBudget = (seconds: number) =>
    HTTP2_STREAM_RESET_BURST + HTTP2_STREAM_RESET_RATE * (Math.ceil(seconds) + 1);

  it(`rapid reset: ${RESETS} streams opened and reset in one go are cut off at the stream limit; the gateway serves on`, async () => {
    const bystander = await rawSession();
    // The streams it takes (and sees reset) count against the reset budget.
    // Read together, reset streams also pile up until the gateway holds
    // HTTP2_MAX_CONCURRENT_STREAMS; it refuses the next ones, and closes the
    // connection after MAX_REFUSED_STREAMS_PER_SESSION refusals (Node refuses
    // one more, and gives up on the next).
    await rapidReset(
      100,
      false,
      (seconds) => resetBudget(seconds) + MAX_REFUSED_STREAMS_PER_SESSION + 2,
    );
    // Another connection, open all along, and a new one are served.
    bystander.openStreams('/healthz', 1);
    expect(await bystander.until(() => bystander.answered.size === 1, WAIT_MS)).toBe(true);
    expect(bystander.goaway).toBeUndefined();
    await expectServing();
  });

  it(`rapid reset, each batch read before the next: GOAWAY once the reset budget (${HTTP2_STREAM_RESET_BURST}, then ${HTTP2_STREAM_RESET_RATE}/s) is spent`, async () => {
    const batch = 10;
    // Never more than `batch` streams open at once: only the budget stops it
    // (Node's default, 1000, would let five times as many through).
    await rapidReset(batch, true, (seconds) => resetBudget(seconds) + batch);
    await expectServing();
  });

  it(`${FLOOD} watches at once from a client that acknowledged the limit: the first ${HTTP2_MAX_CONCURRENT_STREAMS} are taken (${STREAM_CAP} served, the rest 429), then GOAWAY`, async () => {
    const before = {
      all: await metric('http_requests_total', WATCH_ROUTE),
      refused: await metric('http_requests_total', { ...WATCH_ROUTE, status_code: '429' }),
    };
    const client = await rawSession();
    // One write (a single TLS record): the gateway reads them all before answering any.
    client.openStreams(WATCH, FLOOD);
    expect(await client.until(() => client.goaway !== undefined, WAIT_MS)).toBe(true);
    // A client over the limit it acknowledged breaks the protocol: the connection ends.
    expect(client.goaway).toEqual({
      errorCode: constants.NGHTTP2_PROTOCOL_ERROR,
      lastStreamId: 2 * HTTP2_MAX_CONCURRENT_STREAMS - 1,
    });
    expect(await client.until(() => client.closed, WAIT_MS)).toBe(true);

    // Exactly the first HTTP2_MAX_CONCURRENT_STREAMS reached the gateway, and
    // its stream cap let STREAM_CAP of them through (all ended with the connection).
    await expect.poll(() => metric('http_requests_in_flight', WATCH_ROUTE)).toBe(0);
    expect((await metric('http_requests_total', WATCH_ROUTE)) - before.all).toBe(
      HTTP2_MAX_CONCURRENT_STREAMS,
    );
    expect(
      (await metric('http_requests_total', { ...WATCH_ROUTE, status_code: '429' })) -
        before.refused,
    ).toBe(HTTP2_MAX_CONCURRENT_STREAMS - STREAM_CAP);
    await expectServing();
  });

  it(`${FLOOD} watches at once before the client acknowledged the limit: ${HTTP2_MAX_CONCURRENT_STREAMS} answered (${STREAM_CAP} served, the rest 429), each one past it REFUSED_STREAM, the connection lives`, async () => {
    const refusedBefore = await metric('http_requests_total', {
      ...WATCH_ROUTE,
      status_code: '429',
    });
    const client = await rawSession({ ackSettings: false });
    client.openStreams(WATCH, FLOOD);
    expect(
      await client.until(() => client.answered.size + client.resets.size >= FLOOD, WAIT_MS),
    ).toBe(true);
    const ids = (count: number, from = 1) => Array.from({ length: count }, (_, i) => from + 2 * i);
    expect([...client.answered].sort((a, b) => a - b)).toEqual(ids(HTTP2_MAX_CONCURRENT_STREAMS));
    expect([...client.resets]).toEqual(
      ids(FLOOD - HTTP2_MAX_CONCURRENT_STREAMS, 2 * HTTP2_MAX_CONCURRENT_STREAMS + 1).map((id) => [
        id,
        constants.NGHTTP2_REFUSED_STREAM,
      ]),
    );
    expect(client.goaway).toBeUndefined();
    expect(client.closed).toBe(false);

    // The stream cap let STREAM_CAP through, still open; the others were answered 429.
    await expect
      .poll(() => metric('http_requests_total', { ...WATCH_ROUTE, status_code: '429' }))
      .toBe(refusedBefore + HTTP2_MAX_CONCURRENT_STREAMS - STREAM_CAP);
    expect(await metric('http_requests_in_flight', WATCH_ROUTE)).toBe(STREAM_CAP);
    client.destroy();
    await expect.poll(() => metric('http_requests_in_flight', WATCH_ROUTE)).toBe(0);
    await expectServing();
  });
});
