import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import type { GatewayEnv } from '../config/gateway.env.js';
import { HttpsCertificateReload } from './https-certificate-reload.js';
import { rateLimitOptions } from './rate-limit.js';

/**
 * The rate limit, as a global guard on every Nest route but the probes and
 * /metrics (`@SkipThrottle()`). The API key (`@RequiresApiKey()`) and the
 * stream cap (`@CountsAsOpenStream()`) are route guards; the listener's
 * limits, headers and CORS are Fastify's (http-hardening.ts); its HTTPS
 * certificate is reloaded when renewed (HttpsCertificateReload).
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<GatewayEnv, true>) =>
        rateLimitOptions({
          GATEWAY_RATE_LIMIT: config.get('GATEWAY_RATE_LIMIT', { infer: true }),
          GATEWAY_RATE_LIMIT_WINDOW_MS: config.get('GATEWAY_RATE_LIMIT_WINDOW_MS', { infer: true }),
        }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }, HttpsCertificateReload],
})
export class SecurityModule {}
