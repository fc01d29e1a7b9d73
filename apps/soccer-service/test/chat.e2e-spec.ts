import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { status, type Client } from '@grpc/grpc-js';
import { stream } from '#proto';
import { createGrpcClient } from '#grpc';
import { ChatMember, expectConsecutive } from './support/chat-member.js';
import { startSoccerService, type SoccerService } from './support/soccer-service.js';

const { MESSAGE, JOINED, LEFT } = stream.ChatEvent;

describe('Chat over gRPC', () => {
  let service: SoccerService;
  let client: Client;

  beforeAll(async () => {
    service = await startSoccerService({ CHAT_MAX_TEXT: '500' });
    client = service.client;
  });

  afterAll(() => service?.stop());

  it('broadcasts every message to everyone in the room, sender included, in one order', async () => {
    const ann = await ChatMember.join(client, 'ann', 'room-a');
    const bob = await ChatMember.join(client, 'bob', 'room-a');
    const cid = await ChatMember.join(client, 'cid', 'room-a');
    const other = await ChatMember.join(client, 'dan', 'room-b');
    const startedAt = Date.now();

    const members = [ann, bob, cid];
    for (let i = 0; i < 10; i++) for (const m of members) m.say(`${m.user} ${i}`);
    for (const m of members) {
      await vi.waitFor(() => expect(m.messages()).toHaveLength(30), { timeout: 30_000 });
    }

    // Everyone saw the same 30 messages in the same order, with the same stamps.
    expect(bob.messages()).toEqual(ann.messages());
    expect(cid.messages()).toEqual(ann.messages());
    for (const m of members) {
      expectConsecutive(m.received);
      // Each one's own messages came back too, in the order sent.
      const own = m.messages().filter((x) => x.user === m.user);
      expect(own.map((x) => x.text)).toEqual(
        Array.from({ length: 10 }, (_, i) => `${m.user} ${i}`),
      );
    }
    for (const m of ann.messages()) {
      expect(m.matchId).toBe('room-a');
      expect(m.sentAtMs).toBeGreaterThanOrEqual(startedAt - 1000);
      expect(m.sentAtMs).toBeLessThanOrEqual(Date.now() + 1000);
    }
    // ann was first: she saw the room from seq 1, with each JOINED.
    expect(ann.received.slice(0, 3).map((m) => [m.seq, m.event, m.user])).toEqual([
      [1, JOINED, 'ann'],
      [2, JOINED, 'bob'],
      [3, JOINED, 'cid'],
    ]);
    expect(cid.received[0]).toMatchObject({ seq: 3, event: JOINED, user: 'cid' });

    // The other room saw nothing of room-a, and has its own seq.
    expect(other.received).toEqual([
      expect.objectContaining({ matchId: 'room-b', seq: 1, event: JOINED, user: 'dan' }),
    ]);

    // cid ends its stream: it leaves with OK, the others see LEFT.
    cid.call.end();
    expect((await cid.ended).code).toBe(status.OK);
    await ann.waitFor((m) => m.event === LEFT && m.user === 'cid');
    await bob.waitFor((m) => m.event === LEFT && m.user === 'cid');

    // bob cancels: ann sees LEFT, and the room goes on without him.
    bob.call.cancel();
    await ann.waitFor((m) => m.event === LEFT && m.user === 'bob');
    ann.say('alone now');
    await ann.waitFor((m) => m.text === 'alone now');
    expectConsecutive(ann.received);
    expect(ann.received.at(-1)).toMatchObject({ seq: 36, user: 'ann', event: MESSAGE });

    ann.call.end();
    other.call.end();
    await Promise.all([ann.ended, other.ended]);
  });

  it('counts characters, not UTF-16 units, and ends a too-long text with INVALID_ARGUMENT', async () => {
    const eve = await ChatMember.join(client, 'eve', 'room-c');
    const witness = await ChatMember.join(client, 'wit', 'room-c');
    eve.say('🥅'.repeat(500)); // 500 characters, 1000 UTF-16 units
    await witness.waitFor((m) => m.user === 'eve' && m.event === MESSAGE);
    eve.say('x'.repeat(501));
    const end = await eve.ended;
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toContain('at most 500 characters');
    await witness.waitFor((m) => m.user === 'eve' && m.event === LEFT);
    expect(witness.messages().map((m) => m.text)).not.toContain('x'.repeat(501));
    witness.call.end();
  });

  it.each([
    ['no user', { matchId: 'room-d' }, 'user'],
    ['a blank user', { matchId: 'room-d', user: '   ' }, 'user'],
    ['a 41-character user', { matchId: 'room-d', user: 'u'.repeat(41) }, 'user'],
    ['no room', { user: 'fay' }, 'matchId'],
    ['a room that is a path', { matchId: '../etc', user: 'fay' }, 'invalid match id'],
  ])('ends a first message with %s with INVALID_ARGUMENT', async (_, first, expected) => {
    const member = new ChatMember(client, 'fay');
    member.call.write(first);
    const end = await member.ended;
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toContain(expected);
    expect(member.received).toEqual([]);
  });

  it('trims the user name and lets the first message say something too', async () => {
    const gus = new ChatMember(client, 'gus');
    gus.call.write({ matchId: 'room-e', user: '  gus  ', text: 'hi all' });
    await gus.waitFor((m) => m.text === 'hi all');
    expect(gus.received.map((m) => [m.seq, m.event, m.user, m.text])).toEqual([
      [1, JOINED, 'gus', ''],
      [2, MESSAGE, 'gus', 'hi all'],
    ]);
    gus.call.end();
    expect((await gus.ended).code).toBe(status.OK);
  });
});

describe('Chat with a stalled reader', () => {
  const MAX_PENDING = 8;
  let service: SoccerService;
  let client: Client;
  let slowClient: Client;

  beforeAll(async () => {
    service = await startSoccerService({ CHAT_MAX_PENDING: String(MAX_PENDING) });
    client = service.client;
    // Its own connection, as a real slow client has: a stalled HTTP/2
    // connection would hold up the other calls on it.
    slowClient = createGrpcClient('soccer', `127.0.0.1:${service.port}`, undefined, {
      'grpc.use_local_subchannel_pool': 1,
    });
  });

  afterAll(async () => {
    slowClient?.close();
    await service?.stop();
  });

  it('drops it with RESOURCE_EXHAUSTED while the others keep getting everything at once', async () => {
    const slow = await ChatMember.join(slowClient, 'slow', 'room-s');
    slow.call.pause();
    const fast = await ChatMember.join(client, 'fast', 'room-s');

    // Ping-pong: each message is sent once the previous one came back, so
    // the time to come back is what the room costs a healthy member.
    const text = 'goal! '.repeat(80);
    let worstMs = 0;
    let sent = 0;
    const slowLeft = () => fast.received.some((m) => m.event === LEFT && m.user === 'slow');
    while (!slowLeft() || sent < 50) {
      expect(sent, 'the slow reader was never dropped').toBeLessThan(5000);
      const started = performance.now();
      fast.say(`${sent} ${text}`);
      const want = `${sent} ${text}`;
      await fast.waitFor((m) => m.text === want, 2000);
      worstMs = Math.max(worstMs, performance.now() - started);
      sent += 1;
    }
    console.info(`slow reader dropped after ${sent} messages; worst echo ${worstMs.toFixed(1)} ms`);

    expectConsecutive(fast.received);
    expect(fast.messages()).toHaveLength(sent);
    expect(worstMs).toBeLessThan(1000);

    // Reading again, the slow reader gets what was already on its way, then
    // the verdict.
    slow.call.resume();
    const end = await slow.ended;
    expect(end.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(end.details).toContain('too slow');
    expectConsecutive(slow.received);
    expect(slow.messages().length).toBeLessThan(sent);

    fast.call.end();
    expect((await fast.ended).code).toBe(status.OK);
  });
});
