import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import type { GatewayEnv } from '../config/gateway.env.js';
import { HttpsCertificateReload } from './https-certificate-reload.js';
import { LimitMetrics } from './limit-metrics.js';
import { LimitsRedis } from './limits-redis.js';
import { rateLimitOptions } from './rate-limit.js';
import { RateLimitStorage } from './rate-limit-storage.js';
import { StreamCap } from './stream-cap.js';

/** What the limits count with: Redis when shared, the metrics, the counters. */
@Module({
  providers: [
    {
      provide: LimitsRedis,
      inject: [ConfigService],
      useFactory: (config: ConfigService<GatewayEnv, true>) => LimitsRedis.fromConfig(config),
    },
    LimitMetrics,
    RateLimitStorage,
    StreamCap,
  ],
  exports: [LimitsRedis, LimitMetrics, RateLimitStorage, StreamCap],
})
class LimitsModule {}

/**
 * The rate limit, as a global guard on every Nest route but the probes and
 * /metrics (`@SkipThrottle()`). The API key (`@RequiresApiKey()`) and the
 * stream cap (`@CountsAsOpenStream()`) are route guards; the listener's
 * limits, headers and CORS are Fastify's (http-hardening.ts); its HTTPS
 * certificate is reloaded when renewed (HttpsCertificateReload). Both limits
 * count per client address (clientAddress), across replicas when the
 * gateway has REDIS_URL (LimitsRedis). Global: the stream cap and the rate
 * limit's storage are also used outside Nest's routes (the chat WebSocket).
 */
@Global()
@Module({
  imports: [
    LimitsModule,
    ThrottlerModule.forRootAsync({
      imports: [LimitsModule],
      inject: [ConfigService, RateLimitStorage],
      useFactory: (config: ConfigService<GatewayEnv, true>, storage: RateLimitStorage) =>
        rateLimitOptions(
          {
            GATEWAY_RATE_LIMIT: config.get('GATEWAY_RATE_LIMIT', { infer: true }),
            GATEWAY_RATE_LIMIT_WINDOW_MS: config.get('GATEWAY_RATE_LIMIT_WINDOW_MS', {
              infer: true,
            }),
          },
          storage,
        ),
    }),
  ],
  providers: [
    ThrottlerGuard,
    {
      provide: APP_GUARD,
      inject: [ConfigService, ThrottlerGuard],
      // With GATEWAY_RATE_LIMIT=0 the guard would skip every request anyway;
      // no guard at all spares each request Nest's guard pass (Nest skips a
      // global enhancer whose factory returns null).
      useFactory: (config: ConfigService<GatewayEnv, true>, guard: ThrottlerGuard) =>
        config.get('GATEWAY_RATE_LIMIT', { infer: true }) === 0 ? null : guard,
    },
    HttpsCertificateReload,
  ],
  exports: [LimitsModule],
})
export class SecurityModule {}
