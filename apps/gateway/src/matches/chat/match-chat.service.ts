import type { ServerResponse } from 'node:http';
import {
  BadRequestException,
  GatewayTimeoutException,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ClientGrpc } from '@nestjs/microservices';
import { Metadata, status } from '@grpc/grpc-js';
import type { FastifyReply } from 'fastify';
import { lastValueFrom, Subject } from 'rxjs';
import { stream } from '#proto';
import type { GatewayEnv } from '../../config/gateway.env.js';
import { toApiError, type ApiErrorBody } from '../../errors/api-error.js';
import { grpcStatusName } from '../../errors/grpc-http-status.js';
import { SOCCER_CLIENT } from '../../grpc-clients/grpc-clients.module.js';
import { sseHeartbeatMs } from '../../security/http-hardening.js';
import { BoundedQueue } from '../backpressure.js';
import { OpenStreams, SHUTTING_DOWN } from '../open-streams.js';
import { SseWriter } from '../sse-writer.js';

/** A chat message as the SSE `message` event's JSON carries it. */
export interface ChatMessageView {
  seq: number;
  sentAtMs: number;
  user: string;
  text: string;
  /** MESSAGE, JOINED or LEFT. */
  event: string;
}

function chatMessage(fields: Partial<stream.ChatMessage>): stream.ChatMessage {
  return {
    matchId: '',
    user: '',
    text: '',
    seq: 0,
    sentAtMs: 0,
    event: 0,
    sessionToken: '',
    ...fields,
  };
}

function toView(m: stream.ChatMessage): ChatMessageView {
  return {
    seq: m.seq,
    sentAtMs: m.sentAtMs,
    user: m.user,
    text: m.text,
    event: stream.ChatEvent[m.event] ?? String(m.event),
  };
}

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
export class MatchChatService implements OnModuleInit {
  private readonly logger = new Logger(MatchChatService.name);
  private soccer: stream.SoccerClient;
  private readonly joinTimeoutMs: number;
  private readonly maxPending: number;
  private readonly maxText: number;
  /** Idle chat streams get a comment this often, so proxies and the idle timeout keep them. */
  private readonly heartbeatMs: number;

  constructor(
    @Inject(SOCCER_CLIENT) private readonly client: ClientGrpc,
    private readonly openStreams: OpenStreams,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.joinTimeoutMs = config.get('GATEWAY_DEADLINE_MS', { infer: true });
    this.maxPending = config.get('GATEWAY_CHAT_MAX_PENDING', { infer: true });
    this.maxText = config.get('GATEWAY_CHAT_MAX_TEXT', { infer: true });
    this.heartbeatMs = sseHeartbeatMs(config.get('GATEWAY_IDLE_TIMEOUT_MS', { infer: true }));
  }

  onModuleInit(): void {
    this.soccer = this.client.getService<stream.SoccerClient>(stream.SOCCER_SERVICE_NAME);
  }

  /**
   * Joins `user` to the room of `matchId` and streams the room as SSE. The
   * headers wait for the member's own JOINED (the service echoes it), so a
   * refused join (bad name) is a plain HTTP error; then `joined` carries
   * the session id (the JOINED's session token), and each room message
   * follows as `message`. What the room said before the member's own
   * JOINED, it was not there for: skipped.
   */
  join(matchId: string, user: string, reply: FastifyReply): Promise<void> {
    const res: ServerResponse = reply.raw;
    if (res.destroyed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // What the member says: its join only. Never completed: that would end the call.
      const upstream = new Subject<stream.ChatMessage>();
      const sse = new SseWriter(res, { heartbeatMs: this.heartbeatMs });
      let started = false;
      let ended = false;

      /** Runs `last` once, after the call is cancelled and the session forgotten. */
      const end = (last: () => void) => {
        if (ended) return;
        ended = true;
        clearTimeout(joinTimer);
        res.off('close', memberGone);
        forget();
        subscription.unsubscribe();
        last();
      };
      const start = (sessionId: string) => {
        started = true;
        clearTimeout(joinTimer);
        reply.hijack();
        sse.open();
        sse.send('joined', { sessionId });
        resolve();
      };
      const messages = new BoundedQueue<stream.ChatMessage>(
        res,
        (m) => sse.send('message', toView(m)),
        this.maxPending,
        // Mirrors the service's RESOURCE_EXHAUSTED for its own slow readers.
        () =>
          end(() => {
            this.logger.warn(`dropped ${user} from chat ${matchId}: too slow a reader`);
            const message = `too slow: more than ${this.maxPending} chat messages waiting to be read; join again to continue`;
            sse.end('error', errorBody(status.RESOURCE_EXHAUSTED, message));
          }),
      );

      const subscription = this.soccer.chat(upstream.asObservable(), new Metadata()).subscribe({
        next: (message) => {
          if (!started && !message.sessionToken) return;
          if (!started) start(message.sessionToken);
          messages.offer(message);
        },
        error: (err: Error) =>
          end(() => {
            if (!started) return reject(err);
            messages.flush();
            sse.end('error', toApiError(err).body);
          }),
        complete: () =>
          end(() => {
            if (!started)
              return reject(new ServiceUnavailableException('chat ended before the join'));
            messages.flush();
            sse.end('end', {});
          }),
      });
      const forget = this.openStreams.add(() =>
        end(() => {
          if (!started) return reject(new ServiceUnavailableException(SHUTTING_DOWN.message));
          messages.flush();
          sse.end('error', SHUTTING_DOWN);
        }),
      );
      const memberGone = () =>
        end(() => {
          if (started) return;
          // Nobody left to answer: tell Fastify it has nothing to send.
          reply.hijack();
          resolve();
        });
      res.once('close', memberGone);
      const joinTimer = setTimeout(
        () =>
          end(() =>
            reject(
              new GatewayTimeoutException(
                `soccer-service did not confirm the join within ${this.joinTimeoutMs} ms`,
              ),
            ),
          ),
        this.joinTimeoutMs,
      );
      // After subscribing: the Subject has no memory, so the call must already listen.
      upstream.next(chatMessage({ matchId, user }));
    });
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

function errorBody(code: status, message: string): ApiErrorBody {
  return { code, status: grpcStatusName(code), message };
}
