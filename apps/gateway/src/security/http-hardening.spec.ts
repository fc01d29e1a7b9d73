import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { helmetOptions, listenerOptions, sseHeartbeatMs } from './http-hardening.js';

const ENV = {
  GATEWAY_HEADERS_TIMEOUT_MS: 10_000,
  GATEWAY_IDLE_TIMEOUT_MS: 30_000,
  GATEWAY_MAX_HEADER_BYTES: 16_384,
  GATEWAY_DEADLINE_MS: 5000,
  GATEWAY_UPLOAD_TIMEOUT_MS: 3600_000,
};

describe('listenerOptions', () => {
  it('plain HTTP with the limits against slow clients', () => {
    const options = listenerOptions(ENV);
    expect(options.https).toBeUndefined();
    expect(options.http).toEqual({
      maxHeaderSize: 16_384,
      headersTimeout: 10_000,
      requestTimeout: 3610_000,
      connectionsCheckingInterval: 1000,
    });
    expect(options).toMatchObject({
      keepAliveTimeout: 30_000,
      connectionTimeout: 30_000,
      requestTimeout: 3610_000,
    });
  });

  it('reads X-Forwarded-For only from GATEWAY_TRUSTED_PROXIES', () => {
    expect(listenerOptions(ENV).trustProxy).toBe(false);
    const trusting = listenerOptions({ ...ENV, GATEWAY_TRUSTED_PROXIES: ['10.0.0.0/8', '::1'] });
    expect(trusting.trustProxy).toEqual(['10.0.0.0/8', '::1']);
  });

  it('never cuts a request before its unary answer may come, checks often enough for short timeouts', () => {
    const options = listenerOptions({ ...ENV, GATEWAY_IDLE_TIMEOUT_MS: 1000, GATEWAY_HEADERS_TIMEOUT_MS: 500 });
    expect(options.connectionTimeout).toBe(6000);
    expect(options.keepAliveTimeout).toBe(1000);
    expect(options.http?.connectionsCheckingInterval).toBe(125);
  }); // prettier-ignore
});

describe('sseHeartbeatMs', () => {
  it('beats at most every 15 s, and twice per idle timeout', () => {
    expect(sseHeartbeatMs(30_000)).toBe(15_000);
    expect(sseHeartbeatMs(60_000)).toBe(15_000);
    expect(sseHeartbeatMs(3000)).toBe(1500);
  });
});

describe('helmetOptions', () => {
  it('HSTS and upgrade-insecure-requests only over HTTPS', () => {
    const http = helmetOptions({ https: false });
    const https = helmetOptions({ https: true });
    expect(http.strictTransportSecurity).toBe(false);
    expect(https.strictTransportSecurity).toEqual({ maxAge: 31_536_000 });
    const directives = (o: typeof http) =>
      (o.contentSecurityPolicy as { directives: Record<string, unknown> }).directives;
    expect(directives(http)).not.toHaveProperty('upgradeInsecureRequests');
    expect(directives(https)).toHaveProperty('upgradeInsecureRequests');
  });

  it('inline styles for Swagger UI only', () => {
    const { directives } = helmetOptions({ https: false }).contentSecurityPolicy as {
      directives: { styleSrc: Array<(req: IncomingMessage) => string> };
    };
    const styleSrc = (url: string) => directives.styleSrc[0]({ url } as IncomingMessage);
    expect(styleSrc('/docs')).toBe("'self' 'unsafe-inline'");
    expect(styleSrc('/docs/swagger-ui.css')).toBe("'self' 'unsafe-inline'");
    expect(styleSrc('/')).toBe("'self'");
    expect(styleSrc('/docsx')).toBe("'self'");
    expect(styleSrc('/v1/cheeses')).toBe("'self'");
  });
});
