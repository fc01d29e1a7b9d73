import {
  Controller,
  NotFoundException,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBody,
  ApiConsumes,
  ApiDefaultResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrorBody } from '../openapi/models.js';
import { RPC_BODY } from './rpc-content-types.js';
import { RpcMethodGuard } from './rpc-method.guard.js';
import { isRpcCall, RpcWebExceptionFilter } from './rpc-web-exception.filter.js';
import { RpcWebProxy } from './rpc-web-proxy.service.js';

const GRPC_WEB_TYPES = [
  'application/grpc-web+proto',
  'application/grpc-web+json',
  'application/grpc-web-text',
];
const CONNECT_TYPES = [
  'application/proto',
  'application/json',
  'application/connect+proto',
  'application/connect+json',
];

/**
 * gRPC-Web and Connect at the methods' own paths, for every method of both
 * services, with no code per method (RpcWebProxy). The route is the
 * platform's; what is behind a path is the services' schemas.
 */
@ApiTags('gRPC-Web and Connect')
@Controller()
export class RpcWebController {
  constructor(private readonly proxy: RpcWebProxy) {}

  @Post(':service/:method')
  @RouteConfig(RPC_BODY)
  @UseGuards(RpcMethodGuard)
  @UseFilters(RpcWebExceptionFilter)
  @ApiOperation({
    summary: 'Any method of both services, as gRPC-Web or Connect (e.g. /stream.Soccer/Watch)',
    description:
      'The protocol and codec are told apart by content type, as Envoy and connect-node do. ' +
      'Unary and server-streaming calls from browsers and tools (connect-web, buf curl); ' +
      'client streaming (Upload) over Connect streams. Errors come in the protocol: gRPC-Web ' +
      'as `grpc-status`, `grpc-message` and `grpc-status-details-bin` (a google.rpc.Status), ' +
      'Connect as its JSON error `{code, message, details}` (HTTP 4xx/5xx for unary calls, ' +
      'an end-of-stream message for streams). An unknown method is UNIMPLEMENTED. ' +
      'Timeouts: `grpc-timeout` (gRPC-Web) or `connect-timeout-ms`, a unary call capped at ' +
      'GATEWAY_DEADLINE_MS. Methods whose requests stream in need the API key when the ' +
      'gateway has keys; streaming methods count against GATEWAY_MAX_STREAMS_PER_IP.',
  })
  // Listed last first: decorators apply from the bottom up.
  @ApiParam({ name: 'method', example: 'Order' })
  @ApiParam({
    name: 'service',
    example: 'cheesefarm.CheeseService',
    description: 'package.Service',
  })
  @ApiConsumes(...GRPC_WEB_TYPES, ...CONNECT_TYPES)
  @ApiBody({
    description: 'the request message(s), framed and encoded as the content type says',
    schema: { type: 'string', format: 'binary' },
  })
  @ApiOkResponse({
    description: 'the response message(s), framed and encoded as the request was',
    content: Object.fromEntries(
      [...GRPC_WEB_TYPES, ...CONNECT_TYPES].map((t) => [
        t,
        { schema: { type: 'string', format: 'binary' } },
      ]),
    ),
  })
  @ApiDefaultResponse({
    description: 'not a gRPC-Web or Connect call (another content type or path): 404 or 415',
    type: ApiErrorBody,
  })
  async call(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    // A POST to any other two-segment path that is not a call stays a 404.
    if (!isRpcCall(request)) throw new NotFoundException(`Cannot POST ${request.url}`);
    await this.proxy.serve(request, reply);
  }
}
