import type { stream } from '#proto';

/** What a member says; the bus adds the room, `seq` and the time. */
export type ChatDraft = Pick<stream.ChatMessage, 'user' | 'text' | 'event'>;

/** Receives a room's messages, in `seq` order. */
export type ChatListener = (message: stream.ChatMessage) => void;

/**
 * Carries chat messages between the members of a room, and orders them: each
 * message published to a room gets the room's next `seq` (from 1, no gaps)
 * and the time, and every listener of the room receives them in that order.
 * In process for now; a broker-backed bus (Redis) can take its place to
 * share rooms between replicas.
 */
export interface ChatRoomBus {
  /** Publishes `draft` to `room`. A room nobody listens to does not exist: the draft is dropped. */
  publish(room: string, draft: ChatDraft): void;
  /**
   * Calls `listener` with every message published to `room` from now on,
   * until the returned function is called. Listeners must not block.
   */
  subscribe(room: string, listener: ChatListener): () => void;
  /** Rooms with at least one listener in this process (metrics). */
  readonly roomCount: number;
  /** Listeners in this process, over all rooms: the members it serves (metrics). */
  readonly memberCount: number;
}

/** Injection token of the ChatRoomBus. */
export const CHAT_ROOM_BUS = Symbol('CHAT_ROOM_BUS');
