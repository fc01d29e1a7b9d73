import { Injectable, Logger } from '@nestjs/common';
import { stream } from '#proto';
import {
  newSessionToken,
  type ChatDraft,
  type ChatGrant,
  type ChatListener,
  type ChatRoomBus,
} from './chat-room-bus.js';

interface Room {
  /** seq of the last message published. */
  seq: number;
  listeners: Set<ChatListener>;
  /** Published, not yet handed to every listener. */
  queue: stream.ChatMessage[];
  delivering: boolean;
}

/** A ChatRoomBus for one process: synchronous fan-out, rooms deleted once empty. */
@Injectable()
export class InProcessChatRoomBus implements ChatRoomBus {
  private readonly logger = new Logger(InProcessChatRoomBus.name);
  private readonly rooms = new Map<string, Room>();
  /** Granted session tokens: who speaks where. */
  private readonly grants = new Map<string, { room: string; user: string }>();

  /** No broker to lose: always. */
  readonly available = true;

  /** Rooms with at least one listener. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** Listeners of every room (read on a metrics scrape, not on a hot path). */
  get memberCount(): number {
    let members = 0;
    for (const room of this.rooms.values()) members += room.listeners.size;
    return members;
  }

  publish(roomId: string, draft: ChatDraft): void {
    this.append(roomId, draft);
  }

  grant(room: string, user: string): ChatGrant {
    const token = newSessionToken();
    this.grants.set(token, { room, user });
    return { token, revoke: () => this.grants.delete(token) };
  }

  sayAs(token: string, room: string, text: string): Promise<number | undefined> {
    const granted = this.grants.get(token);
    if (granted?.room !== room) return Promise.resolve(undefined);
    const seq = this.append(room, { event: stream.ChatEvent.MESSAGE, user: granted.user, text });
    return Promise.resolve(seq);
  }

  /** Publishes `draft`; returns its seq, or undefined when nobody listens to the room. */
  private append(roomId: string, draft: ChatDraft): number | undefined {
    const room = this.rooms.get(roomId);
    if (!room) return undefined;
    room.seq += 1;
    const seq = room.seq;
    room.queue.push({ ...draft, matchId: roomId, seq, sentAtMs: Date.now(), sessionToken: '' });
    // A listener that publishes while it is being called (a member dropped
    // mid-delivery says it left) has its message queued behind the current
    // one, so every listener still sees the room in seq order.
    if (room.delivering) return seq;
    room.delivering = true;
    try {
      for (let message = room.queue.shift(); message; message = room.queue.shift()) {
        this.deliver(room, message);
      }
    } finally {
      room.delivering = false;
    }
    return seq;
  }

  subscribe(roomId: string, listener: ChatListener): () => void {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { seq: 0, listeners: new Set(), queue: [], delivering: false };
      this.rooms.set(roomId, room);
    }
    room.listeners.add(listener);
    const joined = room;
    return () => {
      joined.listeners.delete(listener);
      if (joined.listeners.size === 0 && this.rooms.get(roomId) === joined) {
        this.rooms.delete(roomId);
      }
    };
  }

  private deliver(room: Room, message: stream.ChatMessage): void {
    // A copy: listeners may leave (or others join) during the loop. One that
    // left earlier in the loop is skipped.
    for (const listener of [...room.listeners]) {
      if (!room.listeners.has(listener)) continue;
      try {
        listener(message);
      } catch (err) {
        // One broken listener must not cost the others their messages.
        this.logger.error(`chat listener failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }
}
