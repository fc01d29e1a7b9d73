import { Logger } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import type { Observable, Subscription } from 'rxjs';
import { Subject } from 'rxjs';
import type { RawData, WebSocket } from 'ws';
import { stream } from '#proto';
import { apiErrorBody, toApiError } from '../errors/api-error.js';
import { closingFor, type Closing } from './close-codes.js';
import { chatMessage } from '../grpc-clients/chat-message.js';
import { toChatMessageView } from '../matches/chat/chat-sse-sink.js';

/** The limits of one chat WebSocket. */
export interface ChatSocketLimits {
  /** Messages the client may fall behind by before it is dropped (GATEWAY_CHAT_MAX_PENDING). */
  maxPending: number;
  /** Longest text, in characters (GATEWAY_CHAT_MAX_TEXT). */
  maxText: number;
  /** Messages the client may send per minute (GATEWAY_CHAT_MESSAGES_PER_MINUTE). */
  messagesPerMinute: number;
  /** How long soccer-service may take to confirm the join (GATEWAY_DEADLINE_MS). */
  joinTimeoutMs: number;
  /** How often the socket is pinged; no pong by the next ping: closed. */
  pingEveryMs: number;
}

/** Opens the member's `Soccer.Chat` call: what it says in, what the room says out. */
export type OpenChat = (said: Observable<stream.ChatMessage>) => Observable<stream.ChatMessage>;

/** After a close frame, how long the peer has to answer it before the connection is cut. */
const CLOSE_HANDSHAKE_MS = 1000;
const MINUTE_MS = 60_000;
const logger = new Logger('ChatSocket');

/**
 * One chat WebSocket, which is one `Soccer.Chat` call: each text frame the
 * client sends is one message said in the room; each message of the room
 * (the member's own JOINED first) is sent as one JSON text frame. When the
 * call ends the socket is closed with its status (closingFor: 1000 for OK,
 * else 4000 + the gRPC code); when the socket closes, the call is cancelled
 * (the member leaves).
 *
 * Limits, each closing the socket with a status: a client that does not
 * read falls more than `maxPending` messages behind (RESOURCE_EXHAUSTED, as
 * soccer-service drops a slow member); more than `messagesPerMinute` messages
 * (RESOURCE_EXHAUSTED); a text over `maxText` characters or a binary frame
 * (INVALID_ARGUMENT); no JOINED within `joinTimeoutMs` (DEADLINE_EXCEEDED).
 * Frames over the socket's maxPayload are refused by ws itself (1009).
 */
export class ChatSocketSession {
  private readonly said = new Subject<stream.ChatMessage>();
  private readonly call: Subscription;
  private joined = false;
  private ended = false;
  /** Frames handed to ws whose write has not completed: what the client has not taken yet. */
  private unsent = 0;
  private windowStart = Date.now();
  private sentInWindow = 0;
  private alive = true;
  private readonly joinTimer: NodeJS.Timeout;
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly socket: WebSocket,
    private readonly matchId: string,
    private readonly user: string,
    openChat: OpenChat,
    private readonly limits: ChatSocketLimits,
    /** Runs once, when the socket has closed. */
    onClosed: () => void,
  ) {
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('pong', () => (this.alive = true));
    socket.once('close', () => {
      this.finish();
      onClosed();
    });
    this.call = openChat(this.said.asObservable()).subscribe({
      next: (message) => this.deliver(message),
      error: (err: unknown) => this.close(closingFor(toApiError(err).body)),
      complete: () => this.close(closingFor(apiErrorBody(status.OK, ''))),
    });
    // After subscribing: the Subject has no memory, so the call must already listen.
    this.said.next(chatMessage({ matchId, user }));
    this.joinTimer = setTimeout(() => {
      const message = `soccer-service did not confirm the join within ${limits.joinTimeoutMs} ms`;
      this.close(closingFor(apiErrorBody(status.DEADLINE_EXCEEDED, message)));
    }, limits.joinTimeoutMs);
    this.pinger = setInterval(() => this.ping(), limits.pingEveryMs);
    this.pinger.unref();
  }

  /** Ends the session with `closing` (the call is cancelled, the socket closed). */
  close({ code, reason }: Closing): void {
    if (this.ended) return;
    this.finish();
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.close(code, reason);
    // A client that does not read never answers the close frame: cut it then.
    setTimeout(() => this.socket.terminate(), CLOSE_HANDSHAKE_MS).unref();
  }

  /** Cancels the call and stops the timers; the socket is left as it is. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.joinTimer);
    clearInterval(this.pinger);
    this.call.unsubscribe();
  }

  private deliver(message: stream.ChatMessage): void {
    if (this.ended) return;
    if (!this.joined) {
      this.joined = true;
      clearTimeout(this.joinTimer);
    }
    if (this.unsent >= this.limits.maxPending) {
      const { maxPending } = this.limits;
      logger.warn(
        `dropped ${this.user} from chat ${this.matchId}: more than ${maxPending} messages unread`,
      );
      const text = `too slow: more than ${maxPending} chat messages waiting to be read; join again to continue`;
      this.close(closingFor(apiErrorBody(status.RESOURCE_EXHAUSTED, text)));
      return;
    }
    this.unsent++;
    this.socket.send(JSON.stringify(toChatMessageView(message)), () => this.unsent--);
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.ended) return;
    const refuse = (code: status, message: string) =>
      this.close(closingFor(apiErrorBody(code, message)));
    if (isBinary) return refuse(status.INVALID_ARGUMENT, 'send each message as a text frame');
    const now = Date.now();
    if (now - this.windowStart >= MINUTE_MS) {
      this.windowStart = now;
      this.sentInWindow = 0;
    }
    if (++this.sentInWindow > this.limits.messagesPerMinute) {
      return refuse(
        status.RESOURCE_EXHAUSTED,
        `too many messages: more than ${this.limits.messagesPerMinute} a minute`,
      );
    }
    // ws hands text frames over as one Buffer (no binaryType set).
    const text = (data as Buffer).toString('utf8');
    // text.length >= characters, so the exact count is needed only above the limit.
    if (text.length > this.limits.maxText && [...text].length > this.limits.maxText) {
      return refuse(
        status.INVALID_ARGUMENT,
        `text is too long: at most ${this.limits.maxText} characters`,
      );
    }
    this.said.next(chatMessage({ text }));
  }

  /** Pings; a peer that did not answer the previous ping is gone (or its path is): cut. */
  private ping(): void {
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }
}
