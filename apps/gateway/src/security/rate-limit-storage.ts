import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { LimitMetrics } from './limit-metrics.js';
import { LimitsRedis } from './limits-redis.js';
import { FixedWindowCounters, type ThrottlerStorageRecord } from './rate-limit.js';

/** Prefix of the rate limit's keys in Redis (the storage wraps each in `{…}:hits`). */
const REDIS_KEY_PREFIX = 'gateway:rate:';

/**
 * The rate limit's counters: in Redis when the gateway has REDIS_URL
 * (@nest-lab/throttler-storage-redis: one atomic script per request, so
 * every replica counts the same window), else, or while Redis is unusable
 * (LimitsRedis: fail open), in this replica's FixedWindowCounters.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleInit {
  private readonly local = new FixedWindowCounters();
  private shared?: ThrottlerStorageRedisService;

  constructor(
    private readonly redis: LimitsRedis,
    private readonly metrics: LimitMetrics,
  ) {}

  /** Loaded only with Redis, as ioredis is (LimitsRedis.fromConfig); before the app serves. */
  async onModuleInit(): Promise<void> {
    if (!this.redis.client) return;
    const { ThrottlerStorageRedisService } = await import('@nest-lab/throttler-storage-redis');
    this.shared = new ThrottlerStorageRedisService(this.redis.client);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const shared = this.shared;
    const record = await this.redis.orElse(
      () => shared!.increment(REDIS_KEY_PREFIX + key, ttl, limit, blockDuration, throttlerName),
      () => this.local.increment(key, ttl, limit),
    );
    if (record.isBlocked) this.metrics.refused('rate');
    return record;
  }
}
