import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The deadline a caller asked for, for the gRPC calls made on its behalf:
 * the gateway enters it for an HTTP request that sent `Grpc-Timeout` or
 * `Request-Timeout`, and unaryDeadlineInterceptor gives it to every unary
 * call the request makes, capped by the client's own deadline.
 */
const requested = new AsyncLocalStorage<number>();

/** Runs `fn` with `deadline` (ms since the epoch) as the requested deadline of its calls. */
export function withRequestedDeadline<T>(deadline: number, fn: () => T): T {
  return requested.run(deadline, fn);
}

/** The requested deadline of the code running now, if any. */
export function requestedDeadline(): number | undefined {
  return requested.getStore();
}

const GRPC_TIMEOUT_UNITS_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * A `grpc-timeout` value in ms: 1-8 digits and a unit (H, M, S, m, u, n),
 * as the gRPC HTTP/2 protocol (and grpc-gateway) reads it; undefined when
 * it is not one.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  return match ? Number(match[1]) * GRPC_TIMEOUT_UNITS_MS[match[2]] : undefined;
}
