import { describe, expect, it } from 'vitest';
import { stream } from '#proto';
import {
  channelRoom,
  decodeChatEnvelope,
  decodeSession,
  encodeChatBody,
  encodeSession,
  roomChannel,
  roomSeqKey,
  sessionKey,
} from './chat-broker-envelope.js';

const { MESSAGE, LEFT } = stream.ChatEvent;

/** The payload the publish script makes of a body (its Lua, in TypeScript). */
const envelope = (seq: number, sentAtMs: number, body: string) =>
  `{"seq":${seq},"sentAtMs":${sentAtMs},"body":${body}}`;

describe('chat broker envelope', () => {
  it('names a channel and a seq key per room, and reads the room back from the channel', () => {
    expect(roomChannel('live')).toBe('soccer:chat:room:live');
    expect(roomSeqKey('live')).toBe('soccer:chat:seq:live');
    expect(channelRoom(roomChannel('a-b_9'))).toBe('a-b_9');
    expect(channelRoom('other:channel')).toBeUndefined();
  });

  it('names a session by a hash of its token, and reads back only what it wrote', () => {
    const token = 'Qx3'.repeat(14);
    expect(sessionKey(token)).toMatch(/^soccer:chat:session:[A-Za-z0-9_-]{43}$/);
    expect(sessionKey(token)).not.toContain(token);
    expect(sessionKey(token)).not.toBe(sessionKey(`${token}x`));
    const value = { room: 'live', user: 'ann "⚽"' };
    expect(decodeSession(encodeSession(value))).toEqual(value);
    for (const other of [null, 'not json', '{"room":"live"}', '{"room":1,"user":"ann"}']) {
      expect(decodeSession(other)).toBeUndefined();
    }
  });

  it('carries a draft and its origin through, with the seq and time the script adds', () => {
    const body = encodeChatBody('replica-1', { event: MESSAGE, user: 'ann', text: 'goal "⚽"\n' });
    const decoded = decodeChatEnvelope('live', envelope(7, 1_700_000_000_123, body));
    expect(decoded).toEqual({
      origin: 'replica-1',
      message: {
        matchId: 'live',
        seq: 7,
        sentAtMs: 1_700_000_000_123,
        event: MESSAGE,
        user: 'ann',
        text: 'goal "⚽"\n',
        // A broadcast message never carries a member's token.
        sessionToken: '',
      },
    });
  });

  it('keeps only the fields of a draft', () => {
    const draft = { event: LEFT, user: 'bob', text: '', seq: 99, matchId: 'elsewhere' };
    expect(JSON.parse(encodeChatBody('r', draft))).toEqual({
      origin: 'r',
      event: LEFT,
      user: 'bob',
      text: '',
    });
  });

  it.each([
    ['not JSON', 'hello', /not JSON/],
    ['null', 'null', /seq/],
    ['no seq', '{"sentAtMs":1,"body":{}}', /seq/],
    ['seq 0', envelope(0, 1, '{"origin":"r","event":0,"user":"u","text":"t"}'), /seq/],
    ['a fractional seq', envelope(1.5, 1, '{"origin":"r","event":0,"user":"u","text":"t"}'), /seq/],
    ['no body', '{"seq":1,"sentAtMs":1}', /body/],
    ['an unknown event', envelope(1, 1, '{"origin":"r","event":9,"user":"u","text":"t"}'), /body/],
    ['a numeric user', envelope(1, 1, '{"origin":"r","event":0,"user":1,"text":"t"}'), /body/],
    ['no origin', envelope(1, 1, '{"event":0,"user":"u","text":"t"}'), /body/],
  ])('refuses a payload with %s', (_, payload, reason) => {
    expect(() => decodeChatEnvelope('live', payload)).toThrow(reason);
  });
});
