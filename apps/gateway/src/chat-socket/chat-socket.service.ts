import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Metadata } from '@grpc/grpc-js';
import type { WebSocket } from 'ws';
import { stream } from '#proto';
import type { GatewayEnv } from '../config/gateway.env.js';
import { SOCCER_SERVICE } from '../grpc-clients/grpc-clients.module.js';
import { SHUTTING_DOWN } from '../http-streaming/open-streams.js';
import { sseHeartbeatMs } from '../http-streaming/sse-writers.js';
import { ChatSocketAdmission } from './chat-socket-admission.js';
import { ChatSocketSession, type ChatSocketLimits } from './chat-socket-session.js';
import { closingFor } from './close-codes.js';

/**
 * Chat over WebSocket: each socket one `Soccer.Chat` call (ChatSocketSession).
 * On shutdown every socket is closed with UNAVAILABLE (4014, "connect
 * again": the client reconnects, through the load balancer to another
 * replica) and its call cancelled, and new handshakes are refused.
 */
@Injectable()
export class ChatSocketService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ChatSocket');
  private readonly sessions = new Set<ChatSocketSession>();
  readonly limits: ChatSocketLimits;

  constructor(
    @Inject(SOCCER_SERVICE) private readonly soccer: stream.SoccerClient,
    private readonly admission: ChatSocketAdmission,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.limits = {
      maxPending: config.get('GATEWAY_CHAT_MAX_PENDING', { infer: true }),
      maxText: config.get('GATEWAY_CHAT_MAX_TEXT', { infer: true }),
      messagesPerMinute: config.get('GATEWAY_CHAT_MESSAGES_PER_MINUTE', { infer: true }),
      joinTimeoutMs: config.get('GATEWAY_DEADLINE_MS', { infer: true }),
      // As SSE streams beat: well within the idle timeouts of proxies on the way.
      pingEveryMs: sseHeartbeatMs(config.get('GATEWAY_IDLE_TIMEOUT_MS', { infer: true })),
    };
  }

  /** Joins `user` to the room of `matchId` on `socket`, until either side ends. */
  serve(socket: WebSocket, matchId: string, user: string): void {
    const session = new ChatSocketSession(
      socket,
      matchId,
      user,
      (said) => this.soccer.chat(said, new Metadata()),
      this.limits,
      () => this.sessions.delete(session),
    );
    this.sessions.add(session);
  }

  beforeApplicationShutdown(): void {
    this.admission.close();
    if (this.sessions.size > 0) {
      this.logger.log(`closing ${this.sessions.size} chat WebSocket(s): shutting down`);
    }
    const closing = closingFor(SHUTTING_DOWN);
    for (const session of [...this.sessions]) session.close(closing);
  }
}
