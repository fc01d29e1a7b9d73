import { randomBytes } from 'node:crypto';
import type { stream } from '#proto';

/** What a member says; the bus adds the room, `seq` and the time. */
export type ChatDraft = Pick<stream.ChatMessage, 'user' | 'text' | 'event'>;

/** Receives a room's messages, in `seq` order. */
export type ChatListener = (message: stream.ChatMessage) => void;

/**
 * Told, once, that the bus can no longer carry the room to this listener (its
 * broker went away): messages may have been lost, so the member's session must
 * end. The listener is already unsubscribed.
 */
export type ChatBusLost = () => void;

/**
 * A member's right to speak in its room from any replica (Soccer.Say), for as
 * long as its Chat call lasts.
 */
export interface ChatGrant {
  /** Unguessable; only ever sent to the member itself (its own JOINED). */
  readonly token: string;
  /** Ends the right: from then on sayAs with the token finds nothing. Before the LEFT. */
  revoke(): void;
}

/**
 * Longest pause between a broker-backed bus's reconnection attempts: how long
 * a member refused with CHAT_BROKER_UNAVAILABLE should wait before joining again.
 */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/** A new session token: 256 random bits, URL-safe (43 characters). */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Carries chat messages between the members of a room, and orders them: each
 * message published to a room gets the room's next `seq` (from 1, no gaps)
 * and the time, and every listener of the room receives them in that order.
 * InProcessChatRoomBus serves one process; RedisChatRoomBus shares rooms
 * between replicas through Redis pub/sub (REDIS_URL).
 */
export interface ChatRoomBus {
  /**
   * Publishes `draft` to `room`. A room nobody listens to does not exist: the
   * draft is dropped (by the broker, for a broker-backed bus: other replicas
   * may have listeners).
   */
  publish(room: string, draft: ChatDraft): void;
  /**
   * Calls `listener` with every message published to `room` from now on,
   * until the returned function is called. Listeners must not block.
   * `lost` is called instead if the bus loses its broker.
   */
  subscribe(room: string, listener: ChatListener, lost?: ChatBusLost): () => void;
  /**
   * Issues a token that lets `sayAs` speak in `room` as `user`, on any
   * replica that shares this bus's broker, until the grant is revoked.
   */
  grant(room: string, user: string): ChatGrant;
  /**
   * Publishes `text` in `room` as the member `token` was granted to. Resolves
   * with its seq once the room has ordered it, or undefined when the token
   * is unknown, revoked, expired or another room's. Rejects when the broker
   * fails.
   */
  sayAs(token: string, room: string, text: string): Promise<number | undefined>;
  /** Whether the bus can take members now: false while its broker is unreachable. */
  readonly available: boolean;
  /** Rooms with at least one listener in this process (metrics). */
  readonly roomCount: number;
  /** Listeners in this process, over all rooms: the members it serves (metrics). */
  readonly memberCount: number;
}

/** Injection token of the ChatRoomBus. */
export const CHAT_ROOM_BUS = Symbol('CHAT_ROOM_BUS');
