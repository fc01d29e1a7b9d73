import { applyDecorators, HttpException, HttpStatus } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import type { GatewayEnv } from '../config/gateway.env.js';
import { ApiErrorBody } from '../openapi/models.js';
import { clientAddress } from './client-address.js';

/** `Retry-After` of a 429, for the OpenAPI document. */
export const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } },
};

/** What the throttler's storage answers (the type is not exported). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  hits: number;
  endsAt: number;
}

/**
 * The rate limit's counters: per client, the requests of the current fixed
 * window. One number pair per client, whatever the limit (the throttler's
 * default storage keeps a timestamp per request: 1,200 of them per client
 * at the default limit). A window starts with a client's first request;
 * over the limit, the client waits for the window's end (`Retry-After`).
 */
export class FixedWindowCounters implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private sweeper?: NodeJS.Timeout;

  increment(key: string, ttlMs: number, limit: number): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { hits: 0, endsAt: now + ttlMs };
      this.windows.set(key, window);
      this.sweepEvery(ttlMs);
    }
    window.hits++;
    const secondsLeft = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    const isBlocked = window.hits > limit;
    return Promise.resolve({
      totalHits: window.hits,
      timeToExpire: secondsLeft,
      isBlocked,
      timeToBlockExpire: isBlocked ? secondsLeft : 0,
    });
  }

  /** Clients currently counted (for tests). */
  get size(): number {
    return this.windows.size;
  }

  /** Forgets ended windows, so clients that went away cost nothing. */
  private sweepEvery(ms: number): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    }, ms);
    this.sweeper.unref();
  }
}

export type RateLimitEnv = Pick<GatewayEnv, 'GATEWAY_RATE_LIMIT' | 'GATEWAY_RATE_LIMIT_WINDOW_MS'>;

/** The throttler's name for the one rate limit (its storage keys carry it). */
const THROTTLER_NAME = 'default';

/** The 429's message: which limit, and when to come back. */
function tooManyRequests(env: RateLimitEnv, retryInS: number): string {
  return (
    `too many requests from this address: more than ${env.GATEWAY_RATE_LIMIT} in ` +
    `${env.GATEWAY_RATE_LIMIT_WINDOW_MS / 1000} s; retry in ${retryInS} s`
  );
}

/**
 * @nestjs/throttler's options: GATEWAY_RATE_LIMIT requests per
 * GATEWAY_RATE_LIMIT_WINDOW_MS per client address, over all routes
 * together (its default key is per route); 0 turns it off. The guard sets
 * `Retry-After` on a 429; the exception filter gives it the API's body.
 * `storage` counts (RateLimitStorage: in Redis when shared).
 */
export function rateLimitOptions(
  env: RateLimitEnv,
  storage: ThrottlerStorage,
): ThrottlerModuleOptions {
  const limit = env.GATEWAY_RATE_LIMIT;
  return {
    throttlers: [{ name: THROTTLER_NAME, limit, ttl: env.GATEWAY_RATE_LIMIT_WINDOW_MS }],
    storage,
    skipIf: () => limit === 0,
    getTracker: (request) => clientAddress(request),
    generateKey: (_context, tracker) => tracker,
    errorMessage: (_context, { timeToBlockExpire }) => tooManyRequests(env, timeToBlockExpire),
  };
}

/**
 * Counts one request of `request`'s client as the rate limit's guard does,
 * for what is not a Nest route (the chat WebSocket's handshake): throws the
 * same 429, after setting `Retry-After` through `setHeader`.
 */
export async function countRequest(
  env: RateLimitEnv,
  storage: ThrottlerStorage,
  request: { ip?: string },
  setHeader: (name: string, value: string) => void,
): Promise<void> {
  const limit = env.GATEWAY_RATE_LIMIT;
  if (limit === 0) return;
  const windowMs = env.GATEWAY_RATE_LIMIT_WINDOW_MS;
  const { isBlocked, timeToBlockExpire } = await storage.increment(
    clientAddress(request),
    windowMs,
    limit,
    windowMs,
    THROTTLER_NAME,
  );
  if (!isBlocked) return;
  setHeader('retry-after', String(timeToBlockExpire));
  throw new HttpException(tooManyRequests(env, timeToBlockExpire), HttpStatus.TOO_MANY_REQUESTS);
}

/** Documents the rate limit's 429 on every route of a controller. */
export function ApiRateLimited(): ClassDecorator {
  return applyDecorators(
    ApiTooManyRequestsResponse({
      description:
        '`RESOURCE_EXHAUSTED`: more than GATEWAY_RATE_LIMIT requests from this address within ' +
        'GATEWAY_RATE_LIMIT_WINDOW_MS',
      type: ApiErrorBody,
      headers: RETRY_AFTER_HEADER,
    }),
  );
}
