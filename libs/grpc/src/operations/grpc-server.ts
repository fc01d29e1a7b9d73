import type { ServerOptions as Http2ServerOptions } from 'node:http2';
import {
  Server,
  ServerCredentials,
  type ChannelOptions,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { ServerGrpc, type GrpcOptions } from '@nestjs/microservices';
import { isObservable } from 'rxjs';

type UnaryHandler = (request: unknown, metadata: unknown, call: unknown) => Promise<unknown>;
type UnaryMethod = (
  call: ServerUnaryCall<unknown, unknown>,
  callback: sendUnaryData<unknown>,
) => void;

/**
 * RST_STREAMs a client may send on one connection at once, then per second
 * (Node's HTTP/2 rapid-reset guard, CVE-2023-44487; Node's defaults are
 * 1000, then 33/s). A service's client is a gateway that multiplexes many
 * viewers over one connection and cancels a call each time one leaves or a
 * deadline passes: at Node's defaults, its 1001st cancel within a second or
 * so closes the connection with INTERNAL_ERROR and every call on it fails
 * (`13 INTERNAL: Received RST_STREAM with code 2`, grpc/grpc-node#2872).
 * Still a bound: a real rapid-reset flood sends hundreds of thousands.
 */
export const GRPC_STREAM_RESET_BURST = 10_000;
export const GRPC_STREAM_RESET_RATE = 1000;

type NestGrpcOptions = Readonly<GrpcOptions>['options'];

/**
 * Nest's gRPC server, with two changes: each connection tolerates a
 * gateway's cancels (createClient), and the answer of a unary call is passed
 * to grpc-js straight from the handler's promise. Nest's own path copies the call
 * object (`{...call}`) for processing hooks nobody set and wraps every
 * answer in three Observables; that is a fifth of cheese-service's work per
 * call (docs/benchmarks.md). The handler Nest gives is unchanged (its
 * guards, pipes, interceptors and exception filters run as before), and so
 * is what reaches grpc-js: each value an Observable answer emits, or the
 * value a promise gives. With processing hooks set, Nest's path runs.
 */
export class GrpcServer extends ServerGrpc {
  private hooked = false;

  constructor(private readonly serverOptions: NestGrpcOptions) {
    super(serverOptions);
  }

  /**
   * Nest's `createClient` (the grpc-js Server, bound to the url), with the
   * HTTP/2 rapid-reset guard of each connection set to
   * GRPC_STREAM_RESET_BURST/RATE. grpc-js has no option for it; it gives
   * the HTTP/2 server the options it keeps in `commonServerOptions`, which
   * must be set before `bindAsync` creates that server.
   */
  override async createClient(): Promise<Server> {
    const { channelOptions, maxSendMessageLength, maxReceiveMessageLength } = this.serverOptions;
    // Nest types it `any`; run-grpc-service passes grpc-js ServerCredentials or nothing.
    const credentials = this.serverOptions.credentials as ServerCredentials | undefined;
    const options: ChannelOptions = {
      ...channelOptions,
      ...(maxSendMessageLength && { 'grpc.max_send_message_length': maxSendMessageLength }),
      ...(maxReceiveMessageLength && {
        'grpc.max_receive_message_length': maxReceiveMessageLength,
      }),
      ...this.getKeepaliveOptions(),
    };
    const server = new Server(options);
    const http2 = (server as unknown as { commonServerOptions: Http2ServerOptions })
      .commonServerOptions;
    http2.streamResetBurst = GRPC_STREAM_RESET_BURST;
    http2.streamResetRate = GRPC_STREAM_RESET_RATE;
    await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        this.url,
        credentials ?? ServerCredentials.createInsecure(),
        (error, port) => (error ? reject(error) : resolve(port)),
      );
    });
    return server;
  }

  override setOnProcessingStartHook(...args: Parameters<ServerGrpc['setOnProcessingStartHook']>) {
    this.hooked = true;
    super.setOnProcessingStartHook(...args);
  }

  override setOnProcessingEndHook(...args: Parameters<ServerGrpc['setOnProcessingEndHook']>) {
    this.hooked = true;
    super.setOnProcessingEndHook(...args);
  }

  override createUnaryServiceMethod(methodHandler: UnaryHandler): UnaryMethod {
    const nest = super.createUnaryServiceMethod(methodHandler) as UnaryMethod;
    return (call, callback) => {
      if (this.hooked) return nest(call, callback);
      methodHandler(call.request, call.metadata, call).then(
        (answer) => {
          if (!isObservable(answer)) return callback(null, answer);
          answer.subscribe({
            next: (value) => void Promise.resolve(value).then((v) => callback(null, v)),
            error: (err: unknown) => callback(err as Error),
          });
        },
        (err: unknown) => callback(err as Error),
      );
    };
  }
}
