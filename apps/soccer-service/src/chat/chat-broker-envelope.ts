import { createHash } from 'node:crypto';
import { stream } from '#proto';
import type { ChatDraft } from './chat-room-bus.js';

/**
 * How chat messages travel through Redis (RedisChatRoomBus). Room ids are
 * match ids, already checked against MATCH_ID_PATTERN (checkMatchId),
 * so they go into key and channel names as they are.
 */
const PREFIX = 'soccer:chat';

/** The pub/sub channel of a room. */
export function roomChannel(room: string): string {
  return `${PREFIX}:room:${room}`;
}

/** The room of a channel made by roomChannel; undefined for any other channel. */
export function channelRoom(channel: string): string | undefined {
  const prefix = `${PREFIX}:room:`;
  return channel.startsWith(prefix) ? channel.slice(prefix.length) : undefined;
}

/** The key of a room's last seq (a Redis counter shared by every replica). */
export function roomSeqKey(room: string): string {
  return `${PREFIX}:seq:${room}`;
}

/** A room's seq counter is forgotten this long after its last message (seconds): one day. */
export const ROOM_SEQ_TTL_S = 24 * 60 * 60;

/**
 * The key of a member's session (ChatGrant), named by a hash of its token:
 * whoever can read Redis learns no token to speak with.
 */
export function sessionKey(token: string): string {
  return `${PREFIX}:session:${createHash('sha256').update(token).digest('base64url')}`;
}

/** A session key lives this long unless renewed (ms): a replica that died leaves none behind for longer. */
export const SESSION_TTL_MS = 30_000;

/** What a session key holds. */
export interface ChatSessionValue {
  room: string;
  user: string;
}

/** A session key's value. */
export function encodeSession(value: ChatSessionValue): string {
  return JSON.stringify({ room: value.room, user: value.user });
}

/** Reads a session key's value; undefined for anything not written by encodeSession. */
export function decodeSession(value: string | null): ChatSessionValue | undefined {
  if (value === null) return undefined;
  try {
    const { room, user } = JSON.parse(value) as Record<string, unknown>;
    return typeof room === 'string' && typeof user === 'string' ? { room, user } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Publishes a message to a room. KEYS[1]: the room's seq counter; ARGV[1]:
 * its channel; ARGV[2]: the body (JSON, from encodeChatBody); ARGV[3]: the
 * counter's TTL in seconds. Redis runs a script alone, so taking the next seq
 * and publishing are one step: every subscriber receives a room's messages in
 * seq order, whichever replica published them. The time is Redis's own
 * (TIME), one clock for all replicas. Returns the seq.
 */
export const PUBLISH_CHAT_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local now = redis.call('TIME')
local ms = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
redis.call('PUBLISH', ARGV[1], '{"seq":' .. seq .. ',"sentAtMs":' .. ms .. ',"body":' .. ARGV[2] .. '}')
return seq
`;

/**
 * PUBLISH_CHAT_SCRIPT for a member speaking by its session (Say), with the
 * session's key as KEYS[2]: returns 0 and publishes nothing when that key is
 * gone. In one step, so a Say is either ordered before the member's LEFT
 * (whose replica deletes the key first) or not said at all.
 */
export const SAY_CHAT_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
${PUBLISH_CHAT_SCRIPT}`;

/** What a replica hands to the publish script: the draft and which replica published it. */
interface ChatBody {
  /** The publishing replica's id: for diagnosis only, delivery does not depend on it. */
  origin: string;
  event: stream.ChatEvent;
  user: string;
  text: string;
}

/** The body (ARGV[2]) of the publish script for `draft`, published by replica `origin`. */
export function encodeChatBody(origin: string, draft: ChatDraft): string {
  const body: ChatBody = { origin, event: draft.event, user: draft.user, text: draft.text };
  return JSON.stringify(body);
}

/** A message as it came out of a room's channel. */
export interface ChatEnvelope {
  origin: string;
  message: stream.ChatMessage;
}

const EVENTS = new Set<unknown>([
  stream.ChatEvent.MESSAGE,
  stream.ChatEvent.JOINED,
  stream.ChatEvent.LEFT,
]);

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a payload of `room`'s channel, as PUBLISH_CHAT_SCRIPT wrote it:
 * `{"seq", "sentAtMs", "body": {origin, event, user, text}}`. Throws on
 * anything else (another program publishing on the channel).
 */
export function decodeChatEnvelope(room: string, payload: string): ChatEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw new Error('chat payload is not JSON');
  }
  const { seq, sentAtMs, body } = (parsed ?? {}) as Record<string, unknown>;
  if (!isCount(seq) || seq < 1 || !isCount(sentAtMs)) {
    throw new Error('chat payload without a valid seq and sentAtMs');
  }
  const { origin, event, user, text } = (body ?? {}) as Record<string, unknown>;
  if (
    typeof origin !== 'string' ||
    !EVENTS.has(event) ||
    typeof user !== 'string' ||
    typeof text !== 'string'
  ) {
    throw new Error('chat payload without a valid body');
  }
  return {
    origin,
    message: {
      matchId: room,
      seq,
      sentAtMs,
      event: event as stream.ChatEvent,
      user,
      text,
      sessionToken: '',
    },
  };
}
