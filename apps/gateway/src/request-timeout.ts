import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { parseGrpcTimeout, withRequestedDeadline } from '#grpc';

/** grpc-gateway's header: a gRPC timeout, `1-8 digits` + `H|M|S|m|u|n` (e.g. `500m`). */
export const GRPC_TIMEOUT_HEADER = 'grpc-timeout';
/** The plain alternative: seconds, e.g. `2` or `0.5`. */
export const REQUEST_TIMEOUT_HEADER = 'request-timeout';

/** The timeout a request asks for, in ms; undefined when it asks none; throws 400 when malformed. */
export function requestedTimeoutMs(headers: IncomingHttpHeaders): number | undefined {
  const grpcTimeout = headers[GRPC_TIMEOUT_HEADER];
  if (typeof grpcTimeout === 'string') {
    const ms = parseGrpcTimeout(grpcTimeout);
    if (ms === undefined) {
      throw badRequest(`${GRPC_TIMEOUT_HEADER} must be 1-8 digits and a unit H, M, S, m, u or n`);
    }
    return ms;
  }
  const requestTimeout = headers[REQUEST_TIMEOUT_HEADER];
  if (typeof requestTimeout === 'string') {
    if (!/^\d{1,6}(\.\d{1,3})?$/.test(requestTimeout.trim())) {
      throw badRequest(`${REQUEST_TIMEOUT_HEADER} must be seconds, e.g. 2 or 0.5`);
    }
    return Number(requestTimeout) * 1000;
  }
  return undefined;
}

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * `Grpc-Timeout` / `Request-Timeout` on the REST routes: the request's unary
 * gRPC calls get that deadline, capped by GATEWAY_DEADLINE_MS (the
 * interceptor takes the sooner). gRPC-Web and Connect calls read their own
 * timeout headers (connect does), so their route (`rpcBody`) is left alone.
 * Registered after the request telemetry, so the handler runs inside both.
 */
export function installRequestTimeouts(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    const { headers } = request;
    if (
      headers[GRPC_TIMEOUT_HEADER] === undefined &&
      headers[REQUEST_TIMEOUT_HEADER] === undefined
    ) {
      return done();
    }
    if ((request.routeOptions.config as { rpcBody?: boolean } | undefined)?.rpcBody) return done();
    let ms: number | undefined;
    try {
      ms = requestedTimeoutMs(headers);
    } catch (err) {
      return done(err as Error);
    }
    if (ms === undefined) return done();
    withRequestedDeadline(Date.now() + ms, () => done());
  });
}
