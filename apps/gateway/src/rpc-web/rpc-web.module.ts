import { Module } from '@nestjs/common';
import { ApiExceptionFilter } from '../errors/api-exception.filter.js';
import { MatchesModule } from '../matches/matches.module.js';
import { ApiKeyGuard } from '../security/api-key.guard.js';
import { OpenStreamLimitGuard } from '../security/open-stream-limit.guard.js';
import { RpcMethodGuard } from './rpc-method.guard.js';
import { RpcWebExceptionFilter } from './rpc-web-exception.filter.js';
import { RpcWebController } from './rpc-web.controller.js';
import { RpcWebProxy } from './rpc-web-proxy.service.js';

/**
 * `POST /{package}.{Service}/{Method}` as gRPC-Web or Connect, for browsers
 * and tools. Imports MatchesModule for OpenStreams: a stream here counts
 * against the same per-address cap as the REST streams.
 */
@Module({
  imports: [MatchesModule],
  controllers: [RpcWebController],
  providers: [
    RpcWebProxy,
    RpcMethodGuard,
    ApiKeyGuard,
    OpenStreamLimitGuard,
    ApiExceptionFilter,
    RpcWebExceptionFilter,
  ],
})
export class RpcWebModule {}
