import {
  applyDecorators,
  HttpException,
  HttpStatus,
  Injectable,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrorBody } from '../openapi/models.js';
import { clientAddress } from './client-address.js';
import { RETRY_AFTER_HEADER } from './rate-limit.js';
import { StreamCap } from './stream-cap.js';

export const TOO_MANY_STREAMS = 'too many open streams from this address';

/** The stream cap's 429 (`Retry-After: 1` set through `setHeader`). */
export function tooManyStreams(setHeader: (name: string, value: string) => void): HttpException {
  setHeader('retry-after', '1');
  return new HttpException(TOO_MANY_STREAMS, HttpStatus.TOO_MANY_REQUESTS);
}

/**
 * Caps the streams (`@CountsAsOpenStream()`: watch, MJPEG, chat, upload) one
 * client address has open at GATEWAY_MAX_STREAMS_PER_IP (StreamCap: across
 * replicas with Redis): one more is a 429 with `Retry-After: 1`. A stream
 * counts from here until its response closes: it ended, or the client went
 * away (hijacked responses included).
 */
@Injectable()
export class OpenStreamLimitGuard implements CanActivate {
  constructor(private readonly cap: StreamCap) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const release = await this.cap.admit(clientAddress(http.getRequest<FastifyRequest>()));
    if (!release) throw tooManyStreams((name, value) => void reply.header(name, value));
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
      type: ApiErrorBody,
      headers: RETRY_AFTER_HEADER,
    }),
  );
}
