import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createContextKey,
  type ConnectRouter,
  type HandlerContext,
} from '@connectrpc/connect';
import { file_google_protobuf_empty, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';

const EMPTY = '.google.protobuf.Empty';

/**
 * A service of the gateway's own, never announced: its two methods only
 * throw the error in ERROR_TO_SEND. Requests the gateway answers with an
 * error before any backend is called (an unknown method, a refused API key,
 * the rate limit) are handed to one of them, so that connect writes the
 * error in the request's own protocol and codec: gRPC-Web trailers, a
 * Connect JSON error, or a Connect end-of-stream message.
 */
const ERROR_SERVICE: DescService = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'gateway/errors.proto',
    package: 'gateway',
    syntax: 'proto3',
    dependency: ['google/protobuf/empty.proto'],
    service: [
      {
        name: 'Errors',
        method: [
          { name: 'Unary', inputType: EMPTY, outputType: EMPTY },
          { name: 'Stream', inputType: EMPTY, outputType: EMPTY, serverStreaming: true },
        ],
      },
    ],
  }),
  () => file_google_protobuf_empty.proto,
).getService('gateway.Errors')!;

/** The error the request is to be answered with (a context value of the request). */
export const ERROR_TO_SEND = createContextKey<ConnectError | undefined>(undefined);

function fail(_request: unknown, ctx: HandlerContext): never {
  throw ctx.values.get(ERROR_TO_SEND) ?? new ConnectError('no error to send', Code.Internal);
}

/**
 * Registers the error service on `router`, and returns its paths: the one to
 * hand a Connect streaming request to (its content type says it streams;
 * gRPC-Web ones do too, either fits), and the one for every other request.
 */
export function registerErrorService(router: ConnectRouter): { unary: string; stream: string } {
  router.service(
    ERROR_SERVICE,
    // The schema is built at run time, so its methods are not in the types.
    {
      unary: fail,
      // eslint-disable-next-line require-yield, @typescript-eslint/require-await -- it only throws
      stream: async function* (request: unknown, ctx: HandlerContext) {
        fail(request, ctx);
      },
    } as never,
    // The request may be anything (it was meant for another method): never judge it.
    { jsonOptions: { ignoreUnknownFields: true }, binaryOptions: { readUnknownFields: false } },
  );
  return { unary: '/gateway.Errors/Unary', stream: '/gateway.Errors/Stream' };
}
