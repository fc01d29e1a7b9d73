import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from './api-error.js';
import { closeAfterAnswer } from './close-after-answer.js';

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
    // A refusal before the body was read (a guard on an upload, a body over the limit).
    const request = http.getRequest<FastifyRequest | undefined>();
    if (request) closeAfterAnswer(request.raw, response.raw);
    this.adapterHost.httpAdapter.reply(response, body, httpStatus);
  }
}
