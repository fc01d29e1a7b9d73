import { normalizeIp } from '@nestjs/throttler';

/**
 * Who a request counts against for the rate limit and the stream cap: the
 * client's IP, an IPv6 client as its /64 (one host usually holds a whole
 * /64), an IPv4-mapped address as the IPv4 one. The client is Fastify's
 * `request.ip`: the TCP peer, or, when that peer is one of
 * GATEWAY_TRUSTED_PROXIES, the rightmost `X-Forwarded-For` address that is
 * not a trusted proxy (listenerOptions; docs/security.md).
 */
export function clientAddress(request: { ip?: string }): string {
  return normalizeIp(request.ip ?? '') || 'unknown';
}
