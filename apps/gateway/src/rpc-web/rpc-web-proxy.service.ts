import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { DescMethod, JsonValue } from '@bufbuild/protobuf';
import { Code, ConnectError, createConnectRouter, createContextValues } from '@connectrpc/connect';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import type { Client } from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GRPC_SERVICE_SCHEMAS, type GrpcServiceKey } from '#proto';
import type { GatewayEnv } from '../config/gateway.env.js';
import { CHEESE_RAW_CLIENT, SOCCER_RAW_CLIENT } from '../grpc-clients/grpc-clients.module.js';
import { hijackWithHeaders } from '../http-streaming/raw-response.js';
import { isConnectStream } from './rpc-content-types.js';
import { ERROR_TO_SEND, registerErrorService } from './rpc-errors.js';
import { upstreamHandler } from './upstream-calls.js';

/**
 * gRPC-Web and Connect for every method of both services, at their gRPC
 * paths (`/cheesefarm.CheeseService/Order`): connect-node speaks the
 * protocols (framing, codecs, compression, timeouts, errors), and each
 * method's handler forwards the call to the backend's grpc-js client by its
 * schema (upstream-calls.ts). The protocol and codec are told apart by
 * content type, as connect and Envoy do. gRPC itself is not served here:
 * the gateway listens HTTP/1.1, and the services speak gRPC directly.
 */
@Injectable()
export class RpcWebProxy implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('RpcWeb');
  private readonly handlers = new Map<string, UniversalHandler>();
  private readonly methods = new Map<string, DescMethod>();
  private errorPaths!: { unary: string; stream: string };
  /** Aborts every call in flight when the gateway stops (they end UNAVAILABLE). */
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(CHEESE_RAW_CLIENT) private readonly cheese: Client,
    @Inject(SOCCER_RAW_CLIENT) private readonly soccer: Client,
    private readonly config: ConfigService<GatewayEnv, true>,
  ) {}

  onModuleInit(): void {
    const router = createConnectRouter({
      grpc: false,
      grpcWeb: true,
      connect: true,
      acceptCompression: [compressionGzip, compressionBrotli],
      // What a backend would take anyway; connect refuses more, per message.
      readMaxBytes: this.config.get('GRPC_MAX_MESSAGE_BYTES', { infer: true }),
      shutdownSignal: this.shutdown.signal,
    });
    const deadlines = { maxUnaryMs: this.config.get('GATEWAY_DEADLINE_MS', { infer: true }) };
    const clients: Record<GrpcServiceKey, Client> = { cheese: this.cheese, soccer: this.soccer };
    for (const key of Object.keys(GRPC_SERVICE_SCHEMAS) as GrpcServiceKey[]) {
      const client = clients[key];
      for (const method of GRPC_SERVICE_SCHEMAS[key].methods) {
        this.methods.set(`/${method.parent.typeName}/${method.name}`, method);
        router.rpc(method, upstreamHandler(client, method, deadlines) as never);
      }
    }
    this.errorPaths = registerErrorService(router);
    for (const handler of router.handlers) this.handlers.set(handler.requestPath, handler);
  }

  beforeApplicationShutdown(): void {
    this.shutdown.abort(
      new ConnectError('the gateway is shutting down; call again', Code.Unavailable),
    );
  }

  /** The method served at `path` (`/package.Service/Method`), if any. */
  method(path: string): DescMethod | undefined {
    return this.methods.get(path);
  }

  /**
   * Answers the request: the call of the method at its path, forwarded; or,
   * with `error` (or for a method no service has: UNIMPLEMENTED), that error,
   * written in the request's protocol. The response is taken over from
   * Fastify and written by connect, message by message, as the socket drains.
   */
  async serve(request: FastifyRequest, reply: FastifyReply, error?: ConnectError): Promise<void> {
    const path = request.url.split('?')[0];
    let handler = error ? undefined : this.handlers.get(path);
    if (!handler) {
      error ??= new ConnectError(`no method ${path} on this gateway`, Code.Unimplemented);
      const contentType = request.headers['content-type'];
      handler = this.handlers.get(
        isConnectStream(contentType) ? this.errorPaths.stream : this.errorPaths.unary,
      )!;
    }
    const res = reply.raw;
    // This response is sent by connect: it takes the headers set so far.
    hijackWithHeaders(reply);
    const values = createContextValues().set(ERROR_TO_SEND, error);
    // A JSON body Fastify parsed would be read as the error method's input
    // (Empty), and connect judges an already parsed body without the method's
    // jsonOptions: a refused Connect JSON call would be a 400 about its fields.
    const body = error && request.body !== undefined ? {} : (request.body as JsonValue | undefined);
    try {
      const call = universalRequestFromNodeRequest(request.raw, res, body, values);
      await universalResponseToNodeResponse(await handler(call), res);
    } catch (err) {
      // The client went away, or the socket broke: nobody is left to tell.
      this.logger.debug(`${path}: ${ConnectError.from(err).message}`);
      if (!res.writableEnded) res.destroy();
    }
  }
}
