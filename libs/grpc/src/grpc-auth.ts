import { createHash, timingSafeEqual } from 'node:crypto';
import {
  InterceptingCall,
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as GrpcStatus,
  type Interceptor,
  type Metadata,
  type ServerInterceptor,
} from '@grpc/grpc-js';

export const AUTHORIZATION_HEADER = 'authorization';

/**
 * Services every caller may use without a token: health (probes, load
 * balancers) and reflection (it only describes the API). Everything else,
 * our own services and any added later, needs one.
 */
export function isOpenGrpcMethod(path: string): boolean {
  return path.startsWith('/grpc.health.v1.') || path.startsWith('/grpc.reflection.');
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** The token of an `authorization: Bearer <token>` value (scheme in any case, RFC 6750). */
function bearerToken(values: readonly (string | Buffer)[]): string | undefined {
  if (values.length !== 1 || typeof values[0] !== 'string') return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(values[0]);
  return match?.[1];
}

/**
 * Why a call's metadata does not authenticate it, or undefined when it does.
 * The reasons name no token, presented or expected.
 */
export function bearerTokenProblem(metadata: Metadata, expectedDigest: Buffer): string | undefined {
  const values = metadata.get(AUTHORIZATION_HEADER);
  if (values.length === 0) return 'missing authorization metadata: expected "Bearer <token>"';
  const token = bearerToken(values);
  if (token === undefined) return 'malformed authorization metadata: expected "Bearer <token>"';
  // Equal-length digests: the comparison takes the same time whatever the
  // token's length and wherever it first differs.
  return timingSafeEqual(sha256(token), expectedDigest) ? undefined : 'invalid bearer token';
}

/**
 * The services' authentication (GRPC_AUTH_TOKEN), once for every call:
 * every method but health and reflection needs `authorization: Bearer
 * <token>`, else the call ends with UNAUTHENTICATED as soon as its metadata
 * arrives. The handler never runs for a refused call (grpc-js starts
 * handlers from the listener this interceptor stops: streaming ones on the
 * metadata, unary ones at half-close), and no request message is read.
 * Placed after the telemetry interceptors, which log and count refused calls.
 */
export function grpcAuthInterceptor(token: string): ServerInterceptor {
  const expectedDigest = sha256(token);
  return (definition, call) => {
    if (isOpenGrpcMethod(definition.path)) return new ServerInterceptingCall(call);
    let refused = false;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const problem = bearerTokenProblem(metadata, expectedDigest);
        if (problem === undefined) {
          next(metadata);
          return;
        }
        refused = true;
        call.sendStatus({ code: GrpcStatus.UNAUTHENTICATED, details: problem, metadata: null });
      })
      // No message and no end reaches the handler of a refused call. (grpc-js
      // passes the cancel that follows the status on regardless; handlers
      // that never started ignore it.)
      .withOnReceiveMessage((message, next) => {
        if (!refused) next(message);
      })
      .withOnReceiveHalfClose((next) => {
        if (!refused) next();
      })
      .build();
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder().withStart((next) => next(listener)).build(),
    );
  };
}

/** The client side: `authorization: Bearer <token>` on every call (GRPC_AUTH_TOKEN). */
export function bearerTokenInterceptor(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set(AUTHORIZATION_HEADER, value);
        next(metadata, listener);
      },
    });
}
