import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from './api-error.js';

/**
 * Every error leaves the gateway as `{code, status, message, details?}`,
 * with `Retry-After` when the service said when to try again (RetryInfo).
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { httpStatus, body, retryAfterSeconds } = toApiError(exception);
    const http = host.switchToHttp();
    const response = http.getResponse<FastifyReply>();
    if (retryAfterSeconds !== undefined) void response.header('retry-after', retryAfterSeconds);
    // A refusal before the body was read (a guard on an upload): close the
    // connection after the answer rather than let Node read the rest of a
    // possibly huge body to keep it alive.
    // (HTTP/2 has no such header: there the stream is reset, not the connection.)
    const raw = http.getRequest<FastifyRequest | undefined>()?.raw;
    if (raw?.complete === false && raw.httpVersionMajor === 1) {
      void response.header('connection', 'close');
    }
    this.adapterHost.httpAdapter.reply(response, body, httpStatus);
  }
}
