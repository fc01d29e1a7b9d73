import { normalizeIp } from '@nestjs/throttler';

/**
 * Who a request counts against for the rate limit and the stream cap: the
 * peer's IP, an IPv6 client as its /64 (one host usually holds a whole
 * /64), an IPv4-mapped address as the IPv4 one. The peer is the TCP peer:
 * behind a reverse proxy, every client is the proxy (docs/security.md).
 */
export function clientAddress(request: { ip?: string }): string {
  return normalizeIp(request.ip ?? '') || 'unknown';
}
