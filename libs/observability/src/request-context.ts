import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The header (HTTP) and metadata key (gRPC) that carries a request id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What an incoming HTTP request or RPC carries through the code it runs. */
export interface RequestContext {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

// A request id ends up in every log line: take a caller's only when it is short and plain.
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's request id when it is acceptable, else a new one. */
export function acceptRequestId(incoming: unknown): string {
  const value: unknown = Array.isArray(incoming) ? (incoming as unknown[])[0] : incoming;
  return typeof value === 'string' && ACCEPTABLE_REQUEST_ID.test(value) ? value : randomUUID();
}

/** Runs `fn(...args)` with `ctx` as the current request context (it follows async continuations). */
export function runInRequestContext<T, A extends unknown[]>(
  ctx: RequestContext,
  fn: (...args: A) => T,
  ...args: A
): T {
  return storage.run(ctx, fn, ...args);
}

/** The request id of the HTTP request or RPC being handled, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
