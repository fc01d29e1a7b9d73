import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { Redis, RedisOptions } from 'ioredis';
import { redactedUrl } from '#config';
import type { GatewayEnv } from '../config/gateway.env.js';

/** Longest wait for one reply: a request never waits on Redis for longer. */
const LIMITS_COMMAND_TIMEOUT_MS = 250;
/** After a failed command, how long the limits are counted here before Redis is tried again. */
const LIMITS_RETRY_AFTER_MS = 5_000;
/** How long start-up waits for Redis, so that the first requests are counted across replicas. */
const STARTUP_WAIT_MS = 2_000;
/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** Nothing waits in memory for Redis: no offline queue, no retried commands. */
const CONNECTION_OPTIONS: RedisOptions = {
  connectionName: 'gateway-limits',
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: LIMITS_COMMAND_TIMEOUT_MS * 4,
  commandTimeout: LIMITS_COMMAND_TIMEOUT_MS,
  retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
};

/**
 * The Redis connection the rate limit and the stream cap share between
 * gateway replicas (REDIS_URL), or none. The limits **fail open** to this
 * replica's own counts: while Redis is unreachable, slow (no reply within
 * LIMITS_COMMAND_TIMEOUT_MS) or failing, `usable` is false and each replica
 * limits on its own, as without REDIS_URL; requests are never refused or
 * held up because Redis is gone. Nothing waits in memory for Redis (no
 * offline queue, no retried commands); after a failure Redis is left alone
 * for LIMITS_RETRY_AFTER_MS, then tried again once it is connected.
 */
export class LimitsRedis implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SharedLimits');
  private failedUntil = 0;
  /** What `usable` was when last reported (logged). */
  private shared = false;
  private lastError = '';

  /**
   * Connects to REDIS_URL, if set. ioredis is loaded only then: a gateway
   * without Redis is ~6 MB smaller at idle (an async provider in security.module.ts).
   */
  static async fromConfig(config: ConfigService<GatewayEnv, true>): Promise<LimitsRedis> {
    const url = config.get('REDIS_URL', { infer: true });
    if (!url) return new LimitsRedis();
    const { Redis } = await import('ioredis');
    return new LimitsRedis(new Redis(url, CONNECTION_OPTIONS), redactedUrl(url));
  }

  /** `client`: the connection, undefined without REDIS_URL; `where`: its URL without the password. */
  private constructor(
    readonly client?: Redis,
    private readonly where = '',
  ) {
    if (!client) return;
    client.on('ready', () => this.report());
    client.on('close', () => this.report());
    // Reported through report() and failed commands; without a listener ioredis prints each.
    client.on('error', (err: Error) => (this.lastError = err.message));
  }

  /** Whether Redis is connected and has not failed lately: the limits are counted there. */
  get usable(): boolean {
    return this.client?.status === 'ready' && Date.now() >= this.failedUntil;
  }

  /**
   * Runs `command` on Redis when it is usable; on failure (or when it is
   * not usable) returns `fallback()` instead, so the caller counts locally.
   */
  async orElse<T>(
    command: (redis: Redis) => Promise<T>,
    fallback: () => T | Promise<T>,
  ): Promise<T> {
    if (!this.client) return fallback();
    if (this.usable !== this.shared) this.report();
    if (!this.shared) return fallback();
    try {
      return await command(this.client);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.failedUntil = Date.now() + LIMITS_RETRY_AFTER_MS;
      this.report();
      return fallback();
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'ready') return;
    const ready = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), STARTUP_WAIT_MS);
      client.on('ready', onReady);
    });
    if (!ready) {
      this.logger.warn(
        `Redis ${this.where} not reachable yet${this.lastError ? ` (${this.lastError})` : ''}: ` +
          'limits counted per replica until it is',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
    else client.disconnect();
  }

  /** Logs each change between shared and per-replica limits, once. */
  private report(): void {
    const shared = this.usable;
    if (shared === this.shared) return;
    this.shared = shared;
    if (shared) {
      this.logger.log(`limits shared through Redis ${this.where}`);
    } else {
      this.logger.warn(
        `Redis ${this.where} unusable${this.lastError ? ` (${this.lastError})` : ''}: ` +
          'limits counted per replica (fail open) until it is back',
      );
    }
    this.lastError = '';
  }
}
