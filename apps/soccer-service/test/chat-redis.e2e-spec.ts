import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Metadata,
  status,
  type CallOptions,
  type ClientReadableStream,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { stream } from '#proto';
import { checkHealth, createGrpcClient, createHealthClient } from '#grpc';
import { RedisServer } from '../../../test/support/redis-server.js';
import { ChatMember, expectConsecutive } from './support/chat-member.js';
import { startSoccerService, type SoccerService } from './support/soccer-service.js';

const { MESSAGE, JOINED, LEFT } = stream.ChatEvent;

/**
 * Whatever two members both saw under one seq is the same message, but for
 * the session token that a member's own JOINED carries for it alone.
 */
function expectSameAtSameSeq(members: ChatMember[]): void {
  const bySeq = new Map<number, stream.ChatMessage>();
  for (const member of members) {
    for (const { sessionToken, ...m } of member.received) {
      if (sessionToken) expect(m).toMatchObject({ event: JOINED, user: member.user });
      const message = { ...m, sessionToken: '' };
      const seen = bySeq.get(m.seq);
      if (seen) expect(message).toEqual(seen);
      else bySeq.set(m.seq, message);
    }
  }
}

/** How a call that opens a chat in `room` on `replica` ends, when it cannot join. */
async function joinRefused(replica: SoccerService, room: string): Promise<StatusObject> {
  const member = new ChatMember(replica, 'newcomer');
  member.call.write({ matchId: room, user: 'newcomer' });
  const end = await member.ended;
  expect(member.received).toEqual([]);
  return end;
}

type Callback<T> = (err: ServiceError | null, value?: T) => void;

/** The grpc-js client's methods used here (untyped at runtime). */
interface SoccerCalls {
  listMatches(
    req: object,
    md: Metadata,
    options: CallOptions,
    done: Callback<stream.ListMatchesResponse>,
  ): void;
  watch(req: Partial<stream.Match>, md: Metadata): ClientReadableStream<stream.Video>;
}

const calls = (replica: SoccerService) => replica.client as unknown as SoccerCalls;

function listMatches(replica: SoccerService): Promise<stream.ListMatchesResponse> {
  return new Promise((resolve, reject) =>
    calls(replica).listMatches({}, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

/** Frames of a short Watch of `demo`, and how it ended. */
function watchDemo(replica: SoccerService): Promise<{ frames: number; code: status }> {
  return new Promise((resolve) => {
    let frames = 0;
    const call = calls(replica).watch({ id: 'demo', maxFrames: 3, fps: 0 }, new Metadata());
    call.on('data', () => (frames += 1));
    call.on('error', () => undefined);
    call.on('status', (s: StatusObject) => resolve({ frames, code: s.code }));
  });
}

describe('Chat across two soccer-service replicas sharing a real redis-server', () => {
  let redis: RedisServer;
  let a: SoccerService;
  let b: SoccerService;

  beforeAll(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([
      startSoccerService({ REDIS_URL: redis.url }),
      startSoccerService({ REDIS_URL: redis.url }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('shows every member of both replicas every message once, in the same order', async () => {
    // Joined in turn, alternating replicas: each JOINED crosses to the other one.
    const ann = await ChatMember.join(a, 'ann', 'derby');
    const bob = await ChatMember.join(b, 'bob', 'derby');
    const cid = await ChatMember.join(a, 'cid', 'derby');
    const dan = await ChatMember.join(b, 'dan', 'derby');
    const eve = await ChatMember.join(b, 'eve', 'friendly');
    const fay = await ChatMember.join(a, 'fay', 'friendly');
    const derby = [ann, bob, cid, dan];

    // All at once from both replicas: Redis decides the one order.
    for (let i = 0; i < 15; i++) for (const m of derby) m.say(`${m.user} ${i}`);
    eve.say('only for friendly');
    for (const m of derby) {
      await vi.waitFor(() => expect(m.messages()).toHaveLength(60), { timeout: 30_000 });
    }

    const order = ann.messages();
    for (const m of derby) {
      // The same 60 messages, in the same order, with the same seqs and times.
      expect(m.messages()).toEqual(order);
      expectConsecutive(m.received);
      // Each one's own came back once, in the order said.
      const own = m.messages().filter((x) => x.user === m.user);
      expect(own.map((x) => x.text)).toEqual(
        Array.from({ length: 15 }, (_, i) => `${m.user} ${i}`),
      );
    }
    expect(new Set(order.map((m) => m.text)).size).toBe(60);
    expectSameAtSameSeq([...derby]);
    // ann, first in the room, saw it from seq 1 with every JOINED, whichever replica it came from.
    expect(ann.received.slice(0, 4).map((m) => [m.seq, m.event, m.user])).toEqual([
      [1, JOINED, 'ann'],
      [2, JOINED, 'bob'],
      [3, JOINED, 'cid'],
      [4, JOINED, 'dan'],
    ]);

    // The other room saw nothing of derby, and derby nothing of it.
    await fay.waitFor((m) => m.text === 'only for friendly');
    for (const m of [eve, fay]) {
      expect(m.received.map((x) => [x.matchId, x.seq, x.event, x.user])).toEqual([
        ...(m === eve ? [['friendly', 1, JOINED, 'eve']] : []),
        ['friendly', 2, JOINED, 'fay'],
        ['friendly', 3, MESSAGE, 'eve'],
      ]);
    }
    for (const m of derby) expect(m.received.every((x) => x.matchId === 'derby')).toBe(true);

    // cid (replica a) leaves: bob and dan (replica b) see LEFT too.
    cid.call.end();
    expect((await cid.ended).code).toBe(status.OK);
    for (const m of [ann, bob, dan]) await m.waitFor((x) => x.event === LEFT && x.user === 'cid');
    for (const m of [ann, bob, dan, eve, fay]) m.call.end();
    await Promise.all([ann, bob, dan, eve, fay].map((m) => m.ended));
  });

  it('drops a slow reader with RESOURCE_EXHAUSTED when the room comes from another replica', async () => {
    const MAX_PENDING = 8;
    const c = await startSoccerService({
      REDIS_URL: redis.url,
      CHAT_MAX_PENDING: String(MAX_PENDING),
    });
    // Its own connection, as a real slow client has.
    const slowClient = createGrpcClient('soccer', `127.0.0.1:${c.port}`, undefined, {
      'grpc.use_local_subchannel_pool': 1,
    });
    try {
      const slow = await ChatMember.join(slowClient, 'slow', 'stalled');
      slow.call.pause();
      const neighbour = await ChatMember.join(c, 'nia', 'stalled');
      const talker = await ChatMember.join(b, 'ted', 'stalled');

      // Ping-pong from replica b until replica c has dropped its slow reader.
      const text = 'goal! '.repeat(80);
      let sent = 0;
      const slowLeft = () => talker.received.some((m) => m.event === LEFT && m.user === 'slow');
      while (!slowLeft() || sent < 20) {
        expect(sent, 'the slow reader was never dropped').toBeLessThan(5000);
        const want = `${sent} ${text}`;
        talker.say(want);
        await talker.waitFor((m) => m.text === want, 2000);
        sent += 1;
      }
      console.info(`slow reader on replica c dropped after ${sent} messages from replica b`);
      // Its neighbour on the same replica got everything.
      await vi.waitFor(() => expect(neighbour.messages()).toHaveLength(sent), { timeout: 30_000 });
      expectConsecutive(neighbour.received);

      slow.call.resume();
      const end = await slow.ended;
      expect(end.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(end.details).toContain('too slow');
      expectConsecutive(slow.received);
      expect(slow.messages().length).toBeLessThan(sent);
      for (const m of [neighbour, talker]) m.call.end();
      await Promise.all([neighbour.ended, talker.ended]);
    } finally {
      slowClient.close();
      await c.stop();
    }
  });

  it('ends every open chat with UNAVAILABLE when Redis stops mid-chat, and keeps serving the rest', async () => {
    const gil = await ChatMember.join(a, 'gil', 'final');
    const hal = await ChatMember.join(a, 'hal', 'final');
    const ida = await ChatMember.join(b, 'ida', 'final');
    const jay = await ChatMember.join(b, 'jay', 'final');
    const kit = await ChatMember.join(b, 'kit', 'quiet');
    const open = [gil, hal, ida, jay, kit];

    // gil (replica a) and ida (replica b) talk, without stopping, until their calls end.
    let said = 0;
    const talk = setInterval(() => {
      for (const m of [gil, ida]) if (m.endedAt === undefined) m.say(`${m.user} ${said}`);
      said += 1;
    }, 10);
    try {
      await jay.waitFor((m) => m.text === 'gil 20' || m.text === 'ida 20');

      const stoppedAt = performance.now();
      await redis.stop('SIGKILL');
      const ends = await Promise.all(open.map((m) => m.ended));
      const slowestMs = Math.max(...open.map((m) => m.endedAt! - stoppedAt));
      console.info(`every chat ended ${slowestMs.toFixed(0)} ms after redis-server was killed`);
      expect(slowestMs).toBeLessThan(5000);
      for (const end of ends) {
        expect(end.code).toBe(status.UNAVAILABLE);
        expect(end.details).toContain('chat broker unavailable');
      }
    } finally {
      clearInterval(talk);
    }
    // Up to the end, nothing was lost or doubled, and everyone agrees.
    for (const m of open) expectConsecutive(m.received);
    expectSameAtSameSeq([gil, hal, ida, jay]);

    // New chats are refused at once on both replicas, with the same clear status.
    for (const replica of [a, b]) {
      const refused = await joinRefused(replica, 'final');
      expect(refused.code).toBe(status.UNAVAILABLE);
      expect(refused.details).toContain('chat broker unavailable');
    }

    // Everything else goes on: the processes, health, listing and watching.
    for (const replica of [a, b]) {
      expect(replica.app.exited).toBe(false);
      const health = createHealthClient(`127.0.0.1:${replica.port}`);
      try {
        expect(await checkHealth(health, '')).toBe('SERVING');
      } finally {
        health.close();
      }
      const { matches } = await listMatches(replica);
      expect(matches.map((m) => m.id)).toContain('demo');
      expect(await watchDemo(replica)).toEqual({ frames: 3, code: status.OK });
    }
    await expect
      .poll(() => a.app.logMessages)
      .toMatch(/chat broker redis:\/\/127\.0\.0\.1:\d+\/? lost/);
  });

  it('carries chats across the replicas again once Redis is back, until a replica stops', async () => {
    await redis.restart();
    // Each replica reconnects by itself, within its reconnection back-off (2 s at most).
    const joinWhenBack = async (replica: SoccerService, user: string): Promise<ChatMember> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const member = new ChatMember(replica, user);
        member.call.write({ matchId: 'replay', user });
        const joined = await Promise.race([
          member.waitFor((m) => m.event === JOINED && m.user === user).then(() => true),
          member.ended.then(() => false),
        ]);
        if (joined) return member;
        expect(Date.now(), `${user} could not join again`).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const lia = await joinWhenBack(a, 'lia');
    const max = await joinWhenBack(b, 'max');
    max.say('back on air');
    lia.say('loud and clear');
    for (const m of [lia, max]) {
      await vi.waitFor(() => expect(m.messages()).toHaveLength(2), { timeout: 30_000 });
    }
    expect(lia.messages()).toEqual(max.messages());

    // A replica that stops ends its chats first, then leaves Redis: its
    // members' LEFT still reaches the other replica, and it exits cleanly.
    const logsBefore = a.app.logMessages.length;
    const stopping = a.app.stop('SIGTERM');
    const end = await lia.ended;
    expect(end.code).toBe(status.UNAVAILABLE);
    expect(end.details).toContain('shutting down');
    await max.waitFor((m) => m.event === LEFT && m.user === 'lia');
    expect(await stopping).toBe('0');
    const shutdownLogs = a.app.logMessages.slice(logsBefore);
    expect(shutdownLogs).toContain('stopped in');
    expect(shutdownLogs).not.toMatch(/chat broker .*(lost|failed)/);
    max.call.end();
    expect((await max.ended).code).toBe(status.OK);
  });
});
