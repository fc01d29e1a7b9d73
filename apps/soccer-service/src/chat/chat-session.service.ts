import { Inject, Injectable, Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { richRpcException, stream } from '#proto';
import { GrpcOperations } from '#grpc';
import { checkMatchId, invalidArgument, SOCCER_ERROR_DOMAIN } from '../media/match-id.js';
import { checkText, readJoin, type ChatJoin } from './chat-input.js';
import {
  CHAT_ROOM_BUS,
  MAX_RECONNECT_DELAY_MS,
  type ChatBusLost,
  type ChatListener,
  type ChatRoomBus,
} from './chat-room-bus.js';
import { SendBacklog, type OutgoingCall } from './send-backlog.js';

/** Injection token of the ChatLimits. */
export const CHAT_LIMITS = Symbol('CHAT_LIMITS');

export interface ChatLimits {
  /** Longest message text, in characters. */
  maxText: number;
  /** Messages a member may fall behind by before it is dropped. */
  maxPending: number;
}

/**
 * The status of a chat the bus cannot carry: its broker (Redis) is
 * unreachable. Worth a new try once the bus has tried to reconnect.
 */
function brokerUnavailable(): RpcException {
  return richRpcException(status.UNAVAILABLE, 'chat broker unavailable; join again later', {
    reason: 'CHAT_BROKER_UNAVAILABLE',
    domain: SOCCER_ERROR_DOMAIN,
    retryDelayMs: MAX_RECONNECT_DELAY_MS,
  });
}

/** The answer to a Say whose token names no member of the room. */
function noSession(room: string): RpcException {
  return richRpcException(status.NOT_FOUND, `no chat session with this token in match ${room}`, {
    reason: 'CHAT_SESSION_NOT_FOUND',
    domain: SOCCER_ERROR_DOMAIN,
  });
}

/** Runs members' chat sessions: join, talk (on the call, or by Say from anywhere), leave. */
@Injectable()
export class ChatSessionService {
  private readonly logger = new Logger(ChatSessionService.name);

  constructor(
    @Inject(CHAT_ROOM_BUS) private readonly bus: ChatRoomBus,
    @Inject(CHAT_LIMITS) private readonly limits: ChatLimits,
    private readonly operations: GrpcOperations,
  ) {}

  /**
   * One member's session. `incoming` is what the client sends: its first
   * message joins a room (and may say something), later ones say their text.
   * The result is what the client receives: every message of the room, its
   * own included. The member leaves when either side ends, fails or is
   * cancelled. `call` is watched so that a reader who falls behind is dropped
   * rather than queued for: the room never waits for anyone. On shutdown the
   * session ends with UNAVAILABLE (the member leaves; it may join again elsewhere),
   * and so does it when the bus loses its broker (or has none to join now).
   * The member's own JOINED, on its stream only, carries its session token
   * (for `say`), valid until it leaves.
   */
  session(
    incoming: Observable<stream.ChatMessage>,
    call: OutgoingCall,
  ): Observable<stream.ChatMessage> {
    return new Observable<stream.ChatMessage>((subscriber) => {
      const shutdown = this.operations.shutdownSignal;
      const stop = () =>
        subscriber.error(
          richRpcException(status.UNAVAILABLE, 'server is shutting down; join again to continue', {
            reason: 'SHUTTING_DOWN',
            domain: SOCCER_ERROR_DOMAIN,
            retryDelayMs: 0,
          }),
        );
      const brokerLost = () => subscriber.error(brokerUnavailable());
      if (shutdown.aborted) {
        stop();
        return;
      }
      if (!this.bus.available) {
        brokerLost();
        return;
      }
      const backlog = new SendBacklog(call, this.limits.maxPending);
      let member: ChatJoin | undefined;
      let leave: (() => void) | undefined;
      /** The member's session token, until its own JOINED has carried it. */
      let untold: string | undefined;

      /**
       * `message`, with the token when it is the member's own JOINED: the
       * first JOINED of its name since it joined. (One of the same name
       * joining at that very moment could be taken for it: harmless, the
       * token is still this member's, and goes to it alone.)
       */
      const forMember = (message: stream.ChatMessage): stream.ChatMessage => {
        if (!untold || message.event !== stream.ChatEvent.JOINED || message.user !== member?.user) {
          return message;
        }
        const sessionToken = untold;
        untold = undefined;
        // A copy: the bus hands the same message to every member.
        return { ...message, sessionToken };
      };

      const deliver: ChatListener = (message) => {
        if (backlog.admit()) {
          subscriber.next(forMember(message));
          return;
        }
        this.logger.warn(`dropped ${member?.user} from room ${member?.room}: too slow a reader`);
        subscriber.error(
          richRpcException(
            status.RESOURCE_EXHAUSTED,
            `too slow: more than ${this.limits.maxPending} messages waiting to be read; join again to continue`,
            {
              reason: 'CHAT_READER_TOO_SLOW',
              domain: SOCCER_ERROR_DOMAIN,
              metadata: { maxPending: String(this.limits.maxPending) },
            },
          ),
        );
      };

      const receive = (message: stream.ChatMessage) => {
        if (member) {
          this.publish(
            member,
            stream.ChatEvent.MESSAGE,
            checkText(message.text, this.limits.maxText),
          );
          return;
        }
        const join = readJoin(message);
        const text = message.text ? checkText(message.text, this.limits.maxText) : '';
        if (!this.bus.available) throw brokerUnavailable();
        member = join;
        // `leave` is set before JOINED goes out: the member may be dropped
        // while it does, and the teardown must then find it.
        ({ leave, token: untold } = this.enter(join, deliver, brokerLost));
        this.publish(join, stream.ChatEvent.JOINED);
        if (text) this.publish(join, stream.ChatEvent.MESSAGE, text);
      };

      const input = incoming.subscribe({
        next: (message) => {
          try {
            receive(message);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        // The client half-closed: it leaves, and its stream ends with OK.
        complete: () => subscriber.complete(),
      });

      shutdown.addEventListener('abort', stop, { once: true });

      return () => {
        shutdown.removeEventListener('abort', stop);
        input.unsubscribe();
        backlog.dispose();
        leave?.();
      };
    });
  }

  /**
   * Says `text` in the room `matchId` as the member whose session token is
   * `sessionToken`, from whichever replica it is connected to (when the bus
   * has a broker). NOT_FOUND for a token that is unknown, expired (its member
   * left) or of another room: one member cannot speak as another.
   */
  async say({ matchId, sessionToken, text }: stream.SayRequest): Promise<stream.SayResponse> {
    const room = checkMatchId(matchId, 'match_id');
    const said = checkText(text, this.limits.maxText);
    if (!sessionToken) {
      throw invalidArgument('session_token is required', 'INVALID_CHAT_MESSAGE', 'session_token');
    }
    if (!this.bus.available) throw brokerUnavailable();
    let seq: number | undefined;
    try {
      seq = await this.bus.sayAs(sessionToken, room, said);
    } catch (err) {
      this.logger.warn(`Say in room ${room} failed: ${(err as Error).message}`);
      throw brokerUnavailable();
    }
    if (seq === undefined) throw noSession(room);
    return { seq };
  }

  /**
   * Subscribes `deliver` to the member's room and grants it a session token;
   * returns the token and how to leave.
   */
  private enter(
    member: ChatJoin,
    deliver: ChatListener,
    lost: ChatBusLost,
  ): { token: string; leave: () => void } {
    const unsubscribe = this.bus.subscribe(member.room, deliver, lost);
    const grant = this.bus.grant(member.room, member.user);
    return {
      token: grant.token,
      leave: () => {
        // Revoked first: a Say is then either ordered before the LEFT or refused.
        grant.revoke();
        unsubscribe();
        this.publish(member, stream.ChatEvent.LEFT);
      },
    };
  }

  private publish({ room, user }: ChatJoin, event: stream.ChatEvent, text = ''): void {
    this.bus.publish(room, { event, user, text });
  }
}
