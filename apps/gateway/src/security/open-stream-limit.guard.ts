import {
  applyDecorators,
  HttpException,
  HttpStatus,
  Injectable,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayEnv } from '../config/gateway.env.js';
import { OpenStreams } from '../http-streaming/open-streams.js';
import { ApiErrorSchema } from '../openapi/models.js';
import { clientAddress } from './client-address.js';
import { RETRY_AFTER_HEADER } from './rate-limit.js';

export const TOO_MANY_STREAMS = 'too many open streams from this address';

/**
 * Caps the streams (`@CountsAsOpenStream()`: watch, MJPEG, chat, upload) one
 * client address has open at GATEWAY_MAX_STREAMS_PER_IP: one more is a 429
 * with `Retry-After: 1`. A stream counts from here until its response
 * closes: it ended, or the client went away (hijacked responses included).
 */
@Injectable()
export class OpenStreamLimitGuard implements CanActivate {
  private readonly max: number;

  constructor(
    private readonly openStreams: OpenStreams,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.max = config.get('GATEWAY_MAX_STREAMS_PER_IP', { infer: true });
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.max === 0) return true;
    const http = context.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const release = this.openStreams.admit(
      clientAddress(http.getRequest<FastifyRequest>()),
      this.max,
    );
    if (!release) {
      void reply.header('retry-after', '1');
      throw new HttpException(TOO_MANY_STREAMS, HttpStatus.TOO_MANY_REQUESTS);
    }
    // A response already closed has had its 'close' event.
    if (reply.raw.destroyed) release();
    else reply.raw.once('close', release);
    return true;
  }
}

/** A streaming route: counts against GATEWAY_MAX_STREAMS_PER_IP (and the rate limit). */
export function CountsAsOpenStream(): MethodDecorator {
  return applyDecorators(
    UseGuards(OpenStreamLimitGuard),
    ApiTooManyRequestsResponse({
      description:
        '`RESOURCE_EXHAUSTED`: GATEWAY_MAX_STREAMS_PER_IP streams already open from this ' +
        'address (`Retry-After: 1`), or more than GATEWAY_RATE_LIMIT requests within ' +
        'GATEWAY_RATE_LIMIT_WINDOW_MS',
      type: ApiErrorSchema,
      headers: RETRY_AFTER_HEADER,
    }),
  );
}
