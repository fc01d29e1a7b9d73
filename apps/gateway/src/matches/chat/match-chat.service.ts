import {
  BadRequestException,
  GatewayTimeoutException,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Metadata, status } from '@grpc/grpc-js';
import type { FastifyReply } from 'fastify';
import { lastValueFrom, skipWhile, Subject } from 'rxjs';
import type { stream } from '#proto';
import type { GatewayEnv } from '../../config/gateway.env.js';
import { apiErrorBody } from '../../errors/api-error.js';
import { SOCCER_SERVICE } from '../../grpc-clients/grpc-clients.module.js';
import { SseWriters } from '../../http-streaming/sse-writers.js';
import { replyTarget, StreamRelay, type RelayedStream } from '../../http-streaming/stream-relay.js';
import { ChatSseSink } from './chat-sse-sink.js';
import { chatMessage } from '../../grpc-clients/chat-message.js';

/**
 * Chat over HTTP: an SSE stream per member holds one `Soccer.Chat` call
 * (what the room says comes down it), and POSTs say things in the member's
 * name with `Soccer.Say`, by the session id the stream announced: the
 * session token soccer-service gave the member. Nothing of the session is
 * kept here, so a POST may land on any gateway replica. The SSE connection
 * is the session: when it closes, the call is cancelled, the member leaves
 * and soccer-service forgets the token.
 */
@Injectable()
export class MatchChatService {
  private readonly logger = new Logger(MatchChatService.name);
  private readonly joinTimeoutMs: number;
  private readonly maxPending: number;
  private readonly maxText: number;

  constructor(
    @Inject(SOCCER_SERVICE) private readonly soccer: stream.SoccerClient,
    private readonly relays: StreamRelay,
    private readonly sseWriters: SseWriters,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.joinTimeoutMs = config.get('GATEWAY_DEADLINE_MS', { infer: true });
    this.maxPending = config.get('GATEWAY_CHAT_MAX_PENDING', { infer: true });
    this.maxText = config.get('GATEWAY_CHAT_MAX_TEXT', { infer: true });
  }

  /**
   * Joins `user` to the room of `matchId` and streams the room as SSE. The
   * headers wait for the member's own JOINED (the service echoes it, with
   * the session token), so a refused join (bad name) is a plain HTTP error;
   * then `joined` carries the session id, and each room message follows as
   * `message`. What the room said before that JOINED, the member was not
   * there for: skipped.
   */
  join(matchId: string, user: string, reply: FastifyReply): Promise<void> {
    // What the member says: its join only. Never completed: that would end the call.
    const upstream = new Subject<stream.ChatMessage>();
    // Mirrors the service's RESOURCE_EXHAUSTED for its own slow readers.
    const tooSlow = () => {
      this.logger.warn(`dropped ${user} from chat ${matchId}: too slow a reader`);
      const message = `too slow: more than ${this.maxPending} chat messages waiting to be read; join again to continue`;
      relayed.stop(apiErrorBody(status.RESOURCE_EXHAUSTED, message));
    };
    const sink = new ChatSseSink(this.sseWriters.create(reply.raw), this.maxPending, tooSlow);
    const relayed: RelayedStream = this.relays.relay({
      source: this.soccer
        .chat(upstream.asObservable(), new Metadata())
        .pipe(skipWhile((message) => !message.sessionToken)),
      target: replyTarget(reply),
      sink,
      firstMessageMs: this.joinTimeoutMs,
      late: () =>
        new GatewayTimeoutException(
          `soccer-service did not confirm the join within ${this.joinTimeoutMs} ms`,
        ),
      name: `Chat ${matchId}`,
      // After subscribing: the Subject has no memory, so the call must already listen.
      onSubscribed: () => upstream.next(chatMessage({ matchId, user })),
    });
    return relayed.started;
  }

  /**
   * Says `text` in the session `sessionId` of the room `matchId`, whichever
   * replica holds its stream. soccer-service answers NOT_FOUND (404) for a
   * made-up or expired id, or one of another room.
   */
  async say(matchId: string, sessionId: string, text: string): Promise<void> {
    // The gateway's own limit, as on the chat WebSocket.
    if ([...text].length > this.maxText) {
      throw new BadRequestException(`text is too long: at most ${this.maxText} characters`);
    }
    await lastValueFrom(
      this.soccer.say({ matchId, sessionToken: sessionId, text }, new Metadata()),
    );
  }
}
