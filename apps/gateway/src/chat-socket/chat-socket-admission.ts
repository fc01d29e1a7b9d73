import { ForbiddenException, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayEnv } from '../config/gateway.env.js';
import { ChatJoinQuery } from '../matches/dto/chat.dto.js';
import { MatchIdParams } from '../matches/dto/match-id.params.js';
import { checkApiKey } from '../security/api-key.guard.js';
import { ApiKeys, presentedWebSocketApiKey } from '../security/api-keys.js';
import { clientAddress } from '../security/client-address.js';
import { tooManyStreams } from '../security/open-stream-limit.guard.js';
import { countRequest, type RateLimitEnv } from '../security/rate-limit.js';
import { RateLimitStorage } from '../security/rate-limit-storage.js';
import { StreamCap } from '../security/stream-cap.js';
import { createValidationPipe } from '../validation-pipe.js';

/** What a handshake that was let in asks for, and how to uncount its stream. */
export interface ChatSocketTicket {
  matchId: string;
  user: string;
  /** Uncounts the socket from the stream cap (once; on the connection's close). */
  release: () => void;
}

/**
 * The checks a chat WebSocket handshake passes before it is upgraded, the
 * same as the HTTP routes' guards and pipes (a refusal is an HTTP answer
 * with the API's error body, then the connection is closed): the rate limit
 * (429), the Origin (403), the API key, as for every write (401), the match
 * id and user (400) and the stream cap (429), which the socket counts
 * against until it closes.
 */
@Injectable()
export class ChatSocketAdmission {
  private readonly keys: ApiKeys;
  private readonly rateLimit: RateLimitEnv;
  private readonly corsOrigins: readonly string[];
  private readonly validation = createValidationPipe();
  private closing = false;

  constructor(
    private readonly storage: RateLimitStorage,
    private readonly cap: StreamCap,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.keys = new ApiKeys(config.get('GATEWAY_API_KEYS', { infer: true }));
    this.corsOrigins = config.get('GATEWAY_CORS_ORIGINS', { infer: true }) ?? [];
    this.rateLimit = {
      GATEWAY_RATE_LIMIT: config.get('GATEWAY_RATE_LIMIT', { infer: true }),
      GATEWAY_RATE_LIMIT_WINDOW_MS: config.get('GATEWAY_RATE_LIMIT_WINDOW_MS', { infer: true }),
    };
  }

  /** From now on every handshake is refused (503): the gateway is shutting down. */
  close(): void {
    this.closing = true;
  }

  /** Lets the handshake in, or throws the HTTP error that refuses it. */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<ChatSocketTicket> {
    const setHeader = (name: string, value: string) => void reply.header(name, value);
    if (this.closing) {
      throw new ServiceUnavailableException('the gateway is shutting down; connect again');
    }
    await countRequest(this.rateLimit, this.storage, request, setHeader);
    this.checkOrigin(request);
    checkApiKey(this.keys, presentedWebSocketApiKey(request.headers), setHeader);
    const { id } = await this.validate(MatchIdParams, request.params, 'param');
    const { user } = await this.validate(ChatJoinQuery, request.query, 'query');
    const release = await this.cap.admit(clientAddress(request));
    if (!release) throw tooManyStreams(setHeader);
    return { matchId: id, user, release };
  }

  /**
   * A browser always sends its page's Origin; a page of another site may
   * not open a chat in its visitor's name (cross-site WebSocket hijacking).
   * Allowed: this gateway's own pages (the Origin's host is the request's,
   * as forwarded by a trusted proxy) and GATEWAY_CORS_ORIGINS. Clients that
   * send no Origin (command-line tools) are not browsers, and pass.
   */
  private checkOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    if (origin === undefined || this.corsOrigins.includes('*')) return;
    if (this.corsOrigins.includes(origin)) return;
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      // "null" (a sandboxed page, a file) or garbage: not this site.
    }
    if (host !== undefined && host === request.host) return;
    throw new ForbiddenException(
      `origin ${origin} may not open the chat: not this site, nor in GATEWAY_CORS_ORIGINS`,
    );
  }

  private async validate<T extends object>(
    metatype: new () => T,
    value: unknown,
    type: 'param' | 'query',
  ): Promise<T> {
    return (await this.validation.transform(value, { type, metatype })) as T;
  }
}
