import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ConnectError } from '@connectrpc/connect';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from '../errors/api-error.js';
import { ApiExceptionFilter } from '../errors/api-exception.filter.js';
import { isRpcContentType, RPC_PATH } from './rpc-content-types.js';
import { RpcWebProxy } from './rpc-web-proxy.service.js';

/**
 * A call refused before it reached a backend (rate limit, API key, stream
 * cap, body too large) is answered in its own protocol, with the gRPC code
 * and message the REST routes would give (and `Retry-After`). A request
 * that is no gRPC-Web or Connect call at all gets the API's error body.
 */
@Catch()
export class RpcWebExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly proxy: RpcWebProxy,
    private readonly apiErrors: ApiExceptionFilter,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (!isRpcCall(request)) return this.apiErrors.catch(exception, host);
    const reply = http.getResponse<FastifyReply>();
    const { body, retryAfterSeconds } = toApiError(exception);
    if (retryAfterSeconds !== undefined) void reply.header('retry-after', retryAfterSeconds);
    void this.proxy.serve(request, reply, new ConnectError(body.message, body.code));
  }
}

/** Whether `request` is shaped as a gRPC-Web or Connect call. */
export function isRpcCall(request: FastifyRequest): boolean {
  return (
    RPC_PATH.test(request.url.split('?')[0]) && isRpcContentType(request.headers['content-type'])
  );
}
