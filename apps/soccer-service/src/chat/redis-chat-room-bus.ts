import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { redactedUrl } from '#config';
import { stream } from '#proto';
import {
  channelRoom,
  decodeChatEnvelope,
  decodeSession,
  type ChatEnvelope,
  encodeChatBody,
  encodeSession,
  PUBLISH_CHAT_SCRIPT,
  ROOM_SEQ_TTL_S,
  roomChannel,
  roomSeqKey,
  SAY_CHAT_SCRIPT,
  SESSION_TTL_MS,
  sessionKey,
} from './chat-broker-envelope.js';
import {
  MAX_RECONNECT_DELAY_MS,
  newSessionToken,
  type ChatBusLost,
  type ChatDraft,
  type ChatGrant,
  type ChatListener,
  type ChatRoomBus,
} from './chat-room-bus.js';

/** Bound on connecting, and on waiting for any reply (a dead link without a TCP reset). */
const BROKER_TIMEOUT_MS = 2_000;
/**
 * How often an idle connection is pinged, so that a dead one is noticed
 * within ~7 s, and this replica's session keys are renewed (SESSION_TTL_MS).
 */
const HEARTBEAT_MS = 5_000;
/** How long start-up waits for Redis before serving anyway (chat UNAVAILABLE until it comes). */
const STARTUP_WAIT_MS = 3_000;

interface Member {
  receive: ChatListener;
  lost?: ChatBusLost;
}

interface LocalRoom {
  members: Set<Member>;
  /** Set once Redis confirmed the SUBSCRIBE; messages before that are not this room's. */
  subscribed: boolean;
}

/** The publish scripts, as ioredis defines them on the publisher (`scripts` option). */
type Publisher = Redis & {
  publishChat(seqKey: string, channel: string, body: string, ttlS: number): Promise<number>;
  sayChat(
    seqKey: string,
    sessionKey: string,
    channel: string,
    body: string,
    ttlS: number,
  ): Promise<number>;
};

/**
 * A ChatRoomBus over Redis pub/sub, so that the members of a room can be
 * served by different replicas. Per process: one publisher and one subscriber
 * connection, one channel per room (`soccer:chat:room:<id>`), subscribed while
 * the room has a member here.
 *
 * Ordering. Every message goes through Redis, this replica's own members'
 * included: a Lua script takes the room's next seq from a counter in Redis and
 * publishes in one step, and Redis delivers a channel's messages to every
 * subscriber in the order it ran the PUBLISHes. So each room has one total
 * order, the same on every replica, with seqs that count the room's messages
 * whichever replica published them. Delivering own messages at once and
 * skipping their echo would be faster by a round trip, but members here would
 * then see their own messages before others' that Redis had ordered first: two
 * orders for one room.
 *
 * Failure. Pub/sub keeps no history: while a connection is down, messages are
 * lost for this replica, and a gap cannot be repaired. So when either
 * connection closes, or a publish or subscribe fails, every member here is
 * told (`lost`: their sessions end with UNAVAILABLE, and they may join again),
 * and until both connections are back `available` is false (new chats are
 * refused). Nothing waits on Redis in memory: no offline queue, no retried
 * commands; a reply that takes over BROKER_TIMEOUT_MS closes the connection.
 *
 * Sessions (grant, sayAs). A member's session token names a key in Redis
 * (`soccer:chat:session:<sha-256 of the token>`, its room and user) that any
 * replica can look up to speak for it. The member's replica renews the key's
 * TTL while the member is there and deletes it when it leaves, before its
 * LEFT; one that dies leaves the key to expire within SESSION_TTL_MS. A
 * delete that fails (Redis away) is tried again once Redis is back.
 *
 * Counts (`roomCount`, `memberCount`) are this replica's members only, as the
 * metrics say; counting a room across replicas would need state in Redis.
 */
export class RedisChatRoomBus
  implements ChatRoomBus, OnApplicationBootstrap, OnApplicationShutdown
{
  /** This replica, in every payload it publishes (for diagnosis). */
  readonly replicaId = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger(RedisChatRoomBus.name);
  private readonly publisher: Publisher;
  private readonly subscriber: Redis;
  private readonly rooms = new Map<string, LocalRoom>();
  /** Per room, what the next publish must wait for (a SUBSCRIBE, earlier publishes). */
  private readonly sendQueues = new Map<string, Promise<void>>();
  /** Session keys of the members here, renewed on every heartbeat. */
  private readonly grants = new Set<string>();
  /** Session keys of members gone whose delete failed: deleted once Redis is back. */
  private readonly staleGrants = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Where Redis is, for logs: the URL without its credentials. */
  private readonly where: string;
  private connected = false;
  private lastError = '';
  private closing = false;

  constructor(url: string) {
    this.where = redactedUrl(url);
    const options: RedisOptions = {
      // Commands fail at once while disconnected instead of piling up in memory.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // After a reconnection the members are gone (see "Failure"): nothing to resubscribe.
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      connectTimeout: BROKER_TIMEOUT_MS,
      socketTimeout: BROKER_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
    };
    this.publisher = new Redis(url, {
      ...options,
      connectionName: 'soccer-chat-publisher',
      scripts: {
        publishChat: { lua: PUBLISH_CHAT_SCRIPT, numberOfKeys: 1 },
        sayChat: { lua: SAY_CHAT_SCRIPT, numberOfKeys: 2 },
      },
    }) as Publisher;
    this.subscriber = new Redis(url, { ...options, connectionName: 'soccer-chat-subscriber' });
    for (const [role, connection] of [
      ['publisher', this.publisher],
      ['subscriber', this.subscriber],
    ] as const) {
      connection.on('ready', () => this.connectionReady());
      connection.on('close', () =>
        this.lose(`${role} connection closed${this.lastError ? ` (${this.lastError})` : ''}`),
      );
      // Reported through 'close'; a listener is needed, or ioredis prints each one.
      connection.on('error', (err: Error) => (this.lastError = err.message));
    }
    this.subscriber.on('message', (channel: string, payload: string) =>
      this.receive(channel, payload),
    );
    this.heartbeat = setInterval(() => this.onHeartbeat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get available(): boolean {
    return !this.closing && this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  get memberCount(): number {
    let members = 0;
    for (const room of this.rooms.values()) members += room.members.size;
    return members;
  }

  /** Before the server listens: waits a little for Redis, so the first chats find it. */
  async onApplicationBootstrap(): Promise<void> {
    if (await this.whenAvailable(STARTUP_WAIT_MS)) return;
    this.logger.warn(
      `chat broker ${this.where} not reachable yet${this.lastError ? ` (${this.lastError})` : ''}: ` +
        'Chat answers UNAVAILABLE until it is; retrying',
    );
  }

  /** After the gRPC server closed (chats ended, their LEFT sent): flushes, then disconnects. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    await Promise.all(this.sendQueues.values());
    this.closing = true;
    await Promise.all([quit(this.publisher), quit(this.subscriber)]);
  }

  publish(roomId: string, draft: ChatDraft): void {
    const body = encodeChatBody(this.replicaId, draft);
    this.inRoomOrder(roomId, () => this.send(roomId, body));
  }

  subscribe(roomId: string, receive: ChatListener, lost?: ChatBusLost): () => void {
    if (!this.available) {
      // ChatSessionService refuses members before that; should one come, it is told.
      queueMicrotask(() => lost?.());
      return () => undefined;
    }
    const member: Member = { receive, lost };
    const room = this.rooms.get(roomId) ?? this.openRoom(roomId);
    room.members.add(member);
    return () => {
      if (!room.members.delete(member) || room.members.size > 0) return;
      if (this.rooms.get(roomId) !== room) return;
      this.rooms.delete(roomId);
      // Failing here means the connection is going: it forgets its channels anyway.
      this.subscriber.unsubscribe(roomChannel(roomId)).catch(() => undefined);
    };
  }

  grant(room: string, user: string): ChatGrant {
    const token = newSessionToken();
    const key = sessionKey(token);
    this.grants.add(key);
    // Sent before the member's JOINED goes out on this same connection, and
    // Redis runs a connection's commands in order: the token works by the
    // time the member reads it.
    this.publisher
      .set(key, encodeSession({ room, user }), 'PX', SESSION_TTL_MS)
      .catch((err: Error) => this.lose(`storing a chat session failed: ${err.message}`));
    return { token, revoke: () => this.revoke(key) };
  }

  async sayAs(token: string, room: string, text: string): Promise<number | undefined> {
    const key = sessionKey(token);
    const session = decodeSession(await this.publisher.get(key));
    if (session?.room !== room) return undefined;
    const body = encodeChatBody(this.replicaId, {
      event: stream.ChatEvent.MESSAGE,
      user: session.user,
      text,
    });
    const channel = roomChannel(room);
    const seq = await this.publisher.sayChat(roomSeqKey(room), key, channel, body, ROOM_SEQ_TTL_S);
    // 0: the member left between the look-up and the script.
    return seq > 0 ? seq : undefined;
  }

  private revoke(key: string): void {
    if (!this.grants.delete(key)) return;
    this.publisher.del(key).catch(() => this.staleGrants.add(key));
  }

  /** Subscribes to the room's channel; the room's publishes wait for Redis to confirm it. */
  private openRoom(roomId: string): LocalRoom {
    const room: LocalRoom = { members: new Set(), subscribed: false };
    this.rooms.set(roomId, room);
    const confirmed = this.subscriber.subscribe(roomChannel(roomId)).then(
      () => {
        room.subscribed = true;
      },
      (err: Error) => this.lose(`subscribing to room ${roomId} failed: ${err.message}`),
    );
    this.inRoomOrder(roomId, () => confirmed);
    return room;
  }

  /**
   * Runs `step` after the room's earlier steps: at once when none waits.
   * Each publish is one command on the publisher connection, and Redis runs a
   * connection's commands in order, so this keeps a member's messages in the
   * order it said them, also behind a SUBSCRIBE still unconfirmed.
   */
  private inRoomOrder(roomId: string, step: () => Promise<void> | void): void {
    const previous = this.sendQueues.get(roomId);
    const tail = previous ? previous.then(step) : step();
    if (!tail) return;
    this.sendQueues.set(roomId, tail);
    void tail.finally(() => {
      if (this.sendQueues.get(roomId) === tail) this.sendQueues.delete(roomId);
    });
  }

  private send(roomId: string, body: string): void {
    // Down: the room's members are being told (lose), and their LEFT goes nowhere.
    if (!this.available) return;
    this.publisher
      .publishChat(roomSeqKey(roomId), roomChannel(roomId), body, ROOM_SEQ_TTL_S)
      .catch((err: Error) => this.lose(`publishing to room ${roomId} failed: ${err.message}`));
  }

  private receive(channel: string, payload: string): void {
    const roomId = channelRoom(channel);
    const room = roomId === undefined ? undefined : this.rooms.get(roomId);
    // ioredis emits messages as it parses them, but resolves the SUBSCRIBE
    // promise a microtask later; a message before that was published before
    // the member's JOINED (which waits for it), or belongs to an earlier
    // subscription of the same channel. Either way not for these members.
    if (roomId === undefined || !room?.subscribed) return;
    let envelope: ChatEnvelope;
    try {
      envelope = decodeChatEnvelope(roomId, payload);
    } catch (err) {
      this.logger.warn(`ignored a message on ${channel}: ${(err as Error).message}`);
      return;
    }
    // A copy: members may leave (or join) during the loop; one that left is skipped.
    for (const member of [...room.members]) {
      if (!room.members.has(member)) continue;
      try {
        member.receive(envelope.message);
      } catch (err) {
        // One broken listener must not cost the others their messages.
        this.logger.error(`chat listener failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }

  /** Resolves true once both connections are ready, false after `timeoutMs`. */
  private whenAvailable(timeoutMs: number): Promise<boolean> {
    if (this.available) return Promise.resolve(true);
    const connections = [this.publisher, this.subscriber];
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        for (const connection of connections) connection.off('ready', check);
        resolve(ok);
      };
      const check = () => {
        if (this.available) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      for (const connection of connections) connection.on('ready', check);
    });
  }

  private connectionReady(): void {
    if (!this.available || this.connected) return;
    this.connected = true;
    this.lastError = '';
    if (this.staleGrants.size > 0) {
      const keys = [...this.staleGrants];
      this.staleGrants.clear();
      this.publisher.del(...keys).catch(() => keys.forEach((key) => this.staleGrants.add(key)));
    }
    this.logger.log(`chat broker ${this.where} connected: rooms are shared between replicas`);
  }

  /** Ends every room here: each member is told, and the channels are given up. */
  private lose(reason: string): void {
    const members = this.memberCount;
    if (!this.closing && (this.connected || members > 0)) {
      this.logger.warn(
        `chat broker ${this.where} ${this.connected ? 'lost' : 'failed'}: ${reason}; ` +
          `ending the ${members} chat(s) of this replica`,
      );
    }
    this.connected = this.available;
    if (this.rooms.size === 0) return;
    const rooms = [...this.rooms];
    this.rooms.clear();
    if (this.subscriber.status === 'ready') {
      const channels = rooms.map(([id]) => roomChannel(id));
      this.subscriber.unsubscribe(...channels).catch(() => undefined);
    }
    for (const [, room] of rooms) {
      for (const member of room.members) {
        try {
          member.lost?.();
        } catch (err) {
          this.logger.error(`chat listener failed: ${(err as Error).stack ?? String(err)}`);
        }
      }
    }
  }

  /**
   * Pings idle connections (with socketTimeout, a link that died silently is
   * closed), and renews the session keys of the members here.
   */
  private onHeartbeat(): void {
    for (const connection of [this.publisher, this.subscriber]) {
      if (connection.status === 'ready') connection.ping().catch(() => undefined);
    }
    if (this.grants.size === 0 || this.publisher.status !== 'ready') return;
    const renew = this.publisher.pipeline();
    for (const key of this.grants) renew.pexpire(key, SESSION_TTL_MS);
    renew.exec().catch(() => undefined);
  }
}

/** Closes a connection: QUIT after the commands already sent, or at once when it is down. */
async function quit(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  await connection.quit().catch(() => connection.disconnect());
}
