import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { stream } from '#proto';
import { RedisServer } from '../../../../test/support/redis-server.js';
import { roomChannel } from './chat-broker-envelope.js';
import { RedisChatRoomBus } from './redis-chat-room-bus.js';

const { MESSAGE, JOINED } = stream.ChatEvent;

/** A listener of one bus that keeps what it receives, and whether it was told the bus is lost. */
class Listener {
  readonly received: stream.ChatMessage[] = [];
  lost = false;
  readonly unsubscribe: () => void;

  constructor(
    readonly bus: RedisChatRoomBus,
    readonly room: string,
    readonly user: string,
  ) {
    this.unsubscribe = bus.subscribe(
      room,
      (m) => this.received.push(m),
      () => (this.lost = true),
    );
  }

  /** Subscribes, says JOINED and waits for it: from then on the room reaches it. */
  static async join(bus: RedisChatRoomBus, room: string, user: string): Promise<Listener> {
    const listener = new Listener(bus, room, user);
    bus.publish(room, { event: JOINED, user, text: '' });
    await listener.waitFor((m) => m.event === JOINED && m.user === user);
    return listener;
  }

  say(text: string): void {
    this.bus.publish(this.room, { event: MESSAGE, user: this.user, text });
  }

  messages(): stream.ChatMessage[] {
    return this.received.filter((m) => m.event === MESSAGE);
  }

  async waitFor(match: (m: stream.ChatMessage) => boolean): Promise<void> {
    await vi.waitFor(() => expect(this.received.some(match)).toBe(true), {
      timeout: 5000,
      interval: 5,
    });
  }
}

function expectConsecutive(messages: stream.ChatMessage[]): void {
  const seqs = messages.map((m) => m.seq);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
}

async function connectedBus(url: string): Promise<RedisChatRoomBus> {
  const bus = new RedisChatRoomBus(url);
  await bus.onApplicationBootstrap();
  expect(bus.available).toBe(true);
  return bus;
}

describe('RedisChatRoomBus against a real redis-server', () => {
  let redis: RedisServer;
  let probe: Redis;
  const buses: RedisChatRoomBus[] = [];
  const bus = async () => {
    const created = await connectedBus(redis.url);
    buses.push(created);
    return created;
  };
  /** Subscribers of a channel, over all connections (replicas). */
  const subscribers = async (room: string) => {
    const reply = (await probe.call('PUBSUB', 'NUMSUB', roomChannel(room))) as [string, number];
    return Number(reply[1]);
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    probe = new Redis(redis.url);
  });

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.onApplicationShutdown()));
  });

  afterAll(async () => {
    probe?.disconnect();
    await redis?.stop();
  });

  it('gives the members of a room on two replicas the same messages, in one order with one seq', async () => {
    const [a, b] = [await bus(), await bus()];
    const members = [
      await Listener.join(a, 'r1', 'ann'),
      await Listener.join(b, 'r1', 'bob'),
      await Listener.join(a, 'r1', 'cid'),
      await Listener.join(b, 'r1', 'dan'),
    ];
    for (let i = 0; i < 25; i++) for (const m of members) m.say(`${m.user} ${i}`);
    for (const m of members) {
      await vi.waitFor(() => expect(m.messages()).toHaveLength(100), { timeout: 5000 });
    }
    const reference = members[0].messages();
    for (const m of members) {
      expect(m.messages()).toEqual(reference);
      expectConsecutive(m.received);
      // Its own messages in the order said, however the replicas interleaved.
      const own = m.messages().filter((x) => x.user === m.user);
      expect(own.map((x) => x.text)).toEqual(
        Array.from({ length: 25 }, (_, i) => `${m.user} ${i}`),
      );
    }
    // One clock (Redis's): time never goes back along the room's order.
    const times = reference.map((m) => m.sentAtMs);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    // ann was first in a fresh room: she saw it from seq 1.
    expect(members[0].received.slice(0, 4).map((m) => [m.seq, m.user])).toEqual([
      [1, 'ann'],
      [2, 'bob'],
      [3, 'cid'],
      [4, 'dan'],
    ]);
    expect([a.roomCount, a.memberCount, b.roomCount, b.memberCount]).toEqual([1, 2, 1, 2]);
  });

  it('keeps rooms apart', async () => {
    const [a, b] = [await bus(), await bus()];
    const inX = await Listener.join(a, 'rx', 'xav');
    const inY = await Listener.join(b, 'ry', 'yan');
    inX.say('for x');
    inY.say('for y');
    await inX.waitFor((m) => m.text === 'for x');
    await inY.waitFor((m) => m.text === 'for y');
    expect(inX.received.map((m) => [m.matchId, m.seq, m.text])).toEqual([
      ['rx', 1, ''],
      ['rx', 2, 'for x'],
    ]);
    expect(inY.received.map((m) => [m.matchId, m.seq, m.text])).toEqual([
      ['ry', 1, ''],
      ['ry', 2, 'for y'],
    ]);
  });

  it("holds a new room's first publish until Redis confirmed the subscription", async () => {
    const a = await bus();
    // No waiting between subscribe and publish: the JOINED must still come back.
    for (let i = 0; i < 20; i++) {
      const listener = new Listener(a, `fresh-${i}`, 'eve');
      a.publish(`fresh-${i}`, { event: JOINED, user: 'eve', text: '' });
      listener.say('first words');
      await vi.waitFor(() => expect(listener.received).toHaveLength(2), { timeout: 5000 });
      expect(listener.received.map((m) => [m.seq, m.event])).toEqual([
        [1, JOINED],
        [2, MESSAGE],
      ]);
      listener.unsubscribe();
    }
  });

  it('subscribes a room once per replica, gives it up with its last member, and can take it again', async () => {
    const [a, b] = [await bus(), await bus()];
    const first = await Listener.join(a, 'r2', 'fay');
    const second = await Listener.join(a, 'r2', 'gus');
    const other = await Listener.join(b, 'r2', 'hal');
    expect(await subscribers('r2')).toBe(2);
    first.unsubscribe();
    first.unsubscribe(); // twice is harmless
    expect(await subscribers('r2')).toBe(2);
    second.unsubscribe();
    await vi.waitFor(async () => expect(await subscribers('r2')).toBe(1));
    expect(a.roomCount).toBe(0);

    // Leave and join again at once, many times: each new member gets the room
    // from its JOINED on, consecutively, and nothing of before.
    for (let i = 0; i < 10; i++) {
      const again = await Listener.join(a, 'r2', `ivy${i}`);
      other.say(`after ${i}`);
      await again.waitFor((m) => m.text === `after ${i}`);
      expectConsecutive(again.received);
      expect(again.received[0]).toMatchObject({ event: JOINED, user: `ivy${i}` });
      again.unsubscribe();
    }
    expectConsecutive(other.received);
  });

  it('ignores payloads on its channels that it did not write', async () => {
    const a = await bus();
    const member = await Listener.join(a, 'r3', 'jon');
    await probe.publish(roomChannel('r3'), 'not a chat message');
    await probe.publish(roomChannel('r3'), '{"seq":1}');
    member.say('still fine');
    await member.waitFor((m) => m.text === 'still fine');
    expect(member.received.map((m) => m.event)).toEqual([JOINED, MESSAGE]);
  });

  it('sends what was published before it shuts down', async () => {
    const [a, b] = [await bus(), await bus()];
    const listener = await Listener.join(b, 'r4', 'kim');
    await Listener.join(a, 'r4', 'lea');
    for (let i = 0; i < 50; i++) a.publish('r4', { event: MESSAGE, user: 'lea', text: `m${i}` });
    await a.onApplicationShutdown();
    await vi.waitFor(() => expect(listener.messages()).toHaveLength(50));
    expect(a.available).toBe(false);
  });
});

describe('RedisChatRoomBus when Redis goes away', () => {
  let redis: RedisServer;
  const buses: RedisChatRoomBus[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await Promise.all(buses.map((b) => b.onApplicationShutdown()));
    await redis?.stop();
  });

  it('tells every member at once, refuses new ones, and carries rooms again once Redis is back', async () => {
    const a = await connectedBus(redis.url);
    const b = await connectedBus(redis.url);
    buses.push(a, b);
    const members = [
      await Listener.join(a, 'r1', 'ann'),
      await Listener.join(b, 'r1', 'bob'),
      await Listener.join(a, 'r2', 'cid'),
    ];

    await redis.stop('SIGKILL');
    const killedAt = performance.now();
    await vi.waitFor(() => expect(members.every((m) => m.lost)).toBe(true), { timeout: 3000 });
    console.info(`every member told in ${(performance.now() - killedAt).toFixed(0)} ms`);
    expect([a.available, b.available]).toEqual([false, false]);
    expect([a.roomCount, a.memberCount, b.roomCount]).toEqual([0, 0, 0]);
    for (const m of members) m.unsubscribe(); // what the sessions do: harmless now

    // While down: a member is told at once, a publish goes nowhere (and throws nothing).
    const late = new Listener(a, 'r1', 'dan');
    await vi.waitFor(() => expect(late.lost).toBe(true));
    a.publish('r1', { event: MESSAGE, user: 'dan', text: 'anyone?' });
    expect(a.roomCount).toBe(0);

    await redis.restart();
    await vi.waitFor(() => expect([a.available, b.available]).toEqual([true, true]), {
      timeout: 10_000,
      interval: 50,
    });
    const back = [await Listener.join(a, 'r1', 'eve'), await Listener.join(b, 'r1', 'fay')];
    back[1].say('we are back');
    for (const m of back) await m.waitFor((x) => x.text === 'we are back');
    expect(back.some((m) => m.lost)).toBe(false);
  });
});
