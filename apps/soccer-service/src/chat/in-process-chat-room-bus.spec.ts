import { describe, expect, it } from 'vitest';
import { stream } from '#proto';
import type { ChatDraft } from './chat-room-bus.js';
import { InProcessChatRoomBus } from './in-process-chat-room-bus.js';

const { MESSAGE, JOINED, LEFT } = stream.ChatEvent;
const say = (user: string, text: string): ChatDraft => ({ event: MESSAGE, user, text });

/** Subscribes a listener that keeps what it receives. */
function listen(bus: InProcessChatRoomBus, room: string) {
  const received: stream.ChatMessage[] = [];
  const unsubscribe = bus.subscribe(room, (m) => received.push(m));
  return { received, unsubscribe, texts: () => received.map((m) => m.text) };
}

describe('InProcessChatRoomBus', () => {
  it('stamps each room message with the next seq and the time, in publication order', () => {
    const bus = new InProcessChatRoomBus();
    const a = listen(bus, 'a');
    const before = Date.now();
    bus.publish('a', { event: JOINED, user: 'ann', text: '' });
    bus.publish('a', say('ann', 'one'));
    bus.publish('a', say('ann', 'two'));
    expect(a.received.map((m) => [m.seq, m.event, m.text])).toEqual([
      [1, JOINED, ''],
      [2, MESSAGE, 'one'],
      [3, MESSAGE, 'two'],
    ]);
    for (const m of a.received) {
      expect(m.matchId).toBe('a');
      expect(m.user).toBe('ann');
      expect(m.sentAtMs).toBeGreaterThanOrEqual(before);
      expect(m.sentAtMs).toBeLessThanOrEqual(Date.now());
    }
  });

  it('gives every listener of a room the same messages in the same order', () => {
    const bus = new InProcessChatRoomBus();
    const members = [listen(bus, 'a'), listen(bus, 'a'), listen(bus, 'a')];
    for (let i = 0; i < 100; i++) bus.publish('a', say(`u${i % 3}`, `m${i}`));
    for (const member of members) {
      expect(member.received.map((m) => m.seq)).toEqual(
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      expect(member.received).toEqual(members[0].received);
    }
  });

  it('keeps rooms apart, each with its own seq', () => {
    const bus = new InProcessChatRoomBus();
    const a = listen(bus, 'a');
    const b = listen(bus, 'b');
    bus.publish('a', say('ann', 'for a'));
    bus.publish('b', say('bob', 'for b'));
    bus.publish('a', say('ann', 'for a again'));
    expect(a.received.map((m) => [m.matchId, m.seq, m.text])).toEqual([
      ['a', 1, 'for a'],
      ['a', 2, 'for a again'],
    ]);
    expect(b.received.map((m) => [m.matchId, m.seq, m.text])).toEqual([['b', 1, 'for b']]);
  });

  it('stops delivering to a listener that unsubscribed', () => {
    const bus = new InProcessChatRoomBus();
    const a = listen(bus, 'a');
    const other = listen(bus, 'a');
    bus.publish('a', say('ann', 'one'));
    a.unsubscribe();
    bus.publish('a', say('ann', 'two'));
    expect(a.texts()).toEqual(['one']);
    expect(other.texts()).toEqual(['one', 'two']);
  });

  it('deletes a room once empty: nothing kept, and the next one starts again at seq 1', () => {
    const bus = new InProcessChatRoomBus();
    const a = listen(bus, 'a');
    const b = listen(bus, 'b');
    bus.publish('a', say('ann', 'one'));
    expect(bus.roomCount).toBe(2);
    a.unsubscribe();
    a.unsubscribe(); // twice is harmless
    expect(bus.roomCount).toBe(1);
    // Nobody listens: dropped, and no room is made for it.
    bus.publish('a', say('ann', 'into the void'));
    expect(bus.roomCount).toBe(1);
    const again = listen(bus, 'a');
    bus.publish('a', say('ann', 'fresh'));
    expect(again.received.map((m) => [m.seq, m.text])).toEqual([[1, 'fresh']]);
    b.unsubscribe();
    again.unsubscribe();
    expect(bus.roomCount).toBe(0);
  });

  it('counts rooms and members as they join and leave', () => {
    const bus = new InProcessChatRoomBus();
    expect([bus.roomCount, bus.memberCount]).toEqual([0, 0]);
    const a1 = listen(bus, 'a');
    const a2 = listen(bus, 'a');
    const b1 = listen(bus, 'b');
    expect([bus.roomCount, bus.memberCount]).toEqual([2, 3]);
    a1.unsubscribe();
    a1.unsubscribe();
    expect([bus.roomCount, bus.memberCount]).toEqual([2, 2]);
    a2.unsubscribe();
    b1.unsubscribe();
    expect([bus.roomCount, bus.memberCount]).toEqual([0, 0]);
  });

  it('keeps seq order for everyone when a listener publishes while it is called', () => {
    const bus = new InProcessChatRoomBus();
    const first = listen(bus, 'a');
    // Says "left" the first time it hears anything, as a dropped member does.
    let dropped = false;
    const unsubscribe = bus.subscribe('a', () => {
      if (dropped) return;
      dropped = true;
      unsubscribe();
      bus.publish('a', { event: LEFT, user: 'slow', text: '' });
    });
    const last = listen(bus, 'a');
    bus.publish('a', say('ann', 'hello'));
    for (const member of [first, last]) {
      expect(member.received.map((m) => [m.seq, m.event])).toEqual([
        [1, MESSAGE],
        [2, LEFT],
      ]);
    }
  });

  it('skips a listener removed by another during the same delivery', () => {
    const bus = new InProcessChatRoomBus();
    let victim: () => void = () => undefined;
    bus.subscribe('a', () => victim());
    const removed = listen(bus, 'a');
    victim = removed.unsubscribe;
    bus.publish('a', say('ann', 'hello'));
    expect(removed.received).toEqual([]);
  });

  it('still delivers to the others when one listener throws', () => {
    const bus = new InProcessChatRoomBus();
    bus.subscribe('a', () => {
      throw new Error('broken listener');
    });
    const fine = listen(bus, 'a');
    bus.publish('a', say('ann', 'one'));
    bus.publish('a', say('ann', 'two'));
    expect(fine.texts()).toEqual(['one', 'two']);
  });

  it('says as the member a token was granted to, in its room only, until revoked', async () => {
    const bus = new InProcessChatRoomBus();
    const a = listen(bus, 'a');
    listen(bus, 'b');
    const ann = bus.grant('a', 'ann');
    const bob = bus.grant('a', 'bob');
    expect(ann.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ann.token).not.toBe(bob.token);

    expect(await bus.sayAs(ann.token, 'a', 'hi')).toBe(1);
    expect(await bus.sayAs(bob.token, 'a', 'yo')).toBe(2);
    expect(a.received.map((m) => [m.seq, m.user, m.text, m.sessionToken])).toEqual([
      [1, 'ann', 'hi', ''],
      [2, 'bob', 'yo', ''],
    ]);
    // Another room, a made-up token, a revoked one: nothing said.
    expect(await bus.sayAs(ann.token, 'b', 'hi')).toBeUndefined();
    expect(await bus.sayAs('x'.repeat(43), 'a', 'hi')).toBeUndefined();
    ann.revoke();
    expect(await bus.sayAs(ann.token, 'a', 'again')).toBeUndefined();
    expect(a.texts()).toEqual(['hi', 'yo']);
  });
});
