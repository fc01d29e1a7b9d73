import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type MessageShape,
} from '@bufbuild/protobuf';
import { ConnectError, type HandlerContext } from '@connectrpc/connect';
import { Metadata, type CallOptions, type Client, type ServiceError } from '@grpc/grpc-js';
import { statusDetailsJson, statusFromTrailers } from '#proto';

/** A message of any of our schemas, as connect hands it over. */
type AnyMessage = MessageShape<DescMessage>;

/** Deadlines of the forwarded calls (GATEWAY_DEADLINE_MS: the most a unary call may get). */
export interface UpstreamDeadlines {
  maxUnaryMs: number;
}

/**
 * The handler of one method, any kind: it forwards the call to the backend
 * through `client` (the grpc-js client behind the backend's ClientGrpc: same
 * channel, round robin, retries, credentials and interceptors as the REST
 * routes), its messages as protobuf bytes. Nothing here knows a method by
 * name: the schema says how to encode and which call style to use.
 */
export function upstreamHandler(client: Client, method: DescMethod, deadlines: UpstreamDeadlines) {
  const path = `/${method.parent.typeName}/${method.name}`;
  const serialize = (message: AnyMessage) => {
    const bytes = toBinary(method.input, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  const deserialize = (bytes: Buffer) => fromBinary(method.output, bytes);
  const options = (ctx: HandlerContext): CallOptions => {
    const timeoutMs = ctx.timeoutMs();
    // A unary call never gets more than the gateway's deadline; a stream gets
    // the client's timeout, if it gave one (a match may be watched for hours).
    const ms =
      method.methodKind === 'unary'
        ? Math.min(timeoutMs ?? deadlines.maxUnaryMs, deadlines.maxUnaryMs)
        : timeoutMs;
    return ms === undefined ? {} : { deadline: Date.now() + ms };
  };

  switch (method.methodKind) {
    case 'unary':
      return (request: AnyMessage, ctx: HandlerContext) =>
        new Promise<AnyMessage>((resolve, reject) => {
          const call = client.makeUnaryRequest(
            path,
            serialize,
            deserialize,
            request,
            new Metadata(),
            options(ctx),
            (err: ServiceError | null, response?: AnyMessage) =>
              err ? reject(connectErrorOf(err)) : resolve(response!),
          );
          cancelOnAbort(ctx.signal, () => call.cancel());
        });

    case 'server_streaming':
      return async function* (request: AnyMessage, ctx: HandlerContext) {
        const call = client.makeServerStreamRequest(
          path,
          serialize,
          deserialize,
          request,
          new Metadata(),
          options(ctx),
        );
        yield* relayResponses(call, ctx.signal, () => call.cancel());
      };

    case 'client_streaming':
      return (requests: AsyncIterable<AnyMessage>, ctx: HandlerContext) =>
        new Promise<AnyMessage>((resolve, reject) => {
          const call = client.makeClientStreamRequest(
            path,
            serialize,
            deserialize,
            new Metadata(),
            options(ctx),
            (err: ServiceError | null, response?: AnyMessage) =>
              err ? reject(connectErrorOf(err)) : resolve(response!),
          );
          cancelOnAbort(ctx.signal, () => call.cancel());
          // Each message is written when the call takes it: the HTTP body is
          // read no faster than the backend reads the stream.
          pipeRequests(requests, call, () => call.cancel());
        });

    case 'bidi_streaming':
      return async function* (requests: AsyncIterable<AnyMessage>, ctx: HandlerContext) {
        const call = client.makeBidiStreamRequest(
          path,
          serialize,
          deserialize,
          new Metadata(),
          options(ctx),
        );
        pipeRequests(requests, call, () => call.cancel());
        yield* relayResponses(call, ctx.signal, () => call.cancel());
      };
  }
}

/**
 * The backend's messages, one at a time, as the HTTP response takes them:
 * connect writes the next one only after the socket drained, and the call is
 * read (grpc-js then asks HTTP/2 for more) only as it is iterated, so a slow
 * reader slows the backend. The client going away, or the gateway stopping,
 * cancels the call.
 */
async function* relayResponses(
  responses: AsyncIterable<unknown>,
  signal: AbortSignal,
  cancel: () => void,
): AsyncGenerator<AnyMessage> {
  const forget = cancelOnAbort(signal, cancel);
  try {
    for await (const message of responses) yield message as AnyMessage;
  } catch (err) {
    throw connectErrorOf(err);
  } finally {
    forget();
    cancel(); // no-op once the call ended; stops it when the client stopped reading
  }
}

function pipeRequests(requests: AsyncIterable<AnyMessage>, call: Writable, cancel: () => void) {
  pipeline(Readable.from(requests), call).catch(cancel);
}

/** Runs `cancel` when `signal` aborts (now, if it has); returns the function that stops watching. */
function cancelOnAbort(signal: AbortSignal, cancel: () => void): () => void {
  if (signal.aborted) {
    cancel();
    return () => undefined;
  }
  signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

/** A grpc-js ServiceError: same code, and the details of `grpc-status-details-bin`. */
function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as ServiceError).code === 'number';
}

/**
 * The backend's error as connect sends it on: the same code (gRPC's and
 * Connect's numbers agree), message and google.rpc details, which connect
 * writes as `grpc-status-details-bin` (gRPC-Web) or as the JSON error's
 * `details` (Connect, with each detail's JSON form as `debug`).
 */
export function connectErrorOf(err: unknown): ConnectError {
  if (err instanceof ConnectError || !isServiceError(err)) return ConnectError.from(err);
  const error = new ConnectError(err.details, err.code as number);
  const status = statusFromTrailers(err.metadata);
  if (status) {
    const json = statusDetailsJson(status);
    error.details = status.details.map((detail, i) => {
      const { '@type': _type, ...debug } = json[i];
      return {
        type: detail.typeUrl.slice(detail.typeUrl.lastIndexOf('/') + 1),
        value: detail.value,
        debug,
      };
    });
  }
  return error;
}
