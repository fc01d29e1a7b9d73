import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const API_KEY_HEADER = 'x-api-key';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * The API keys writes accept (GATEWAY_API_KEYS). Only their SHA-256 digests
 * are kept, and a presented key is compared with every one of them in
 * constant time: equal-length digests, no early exit, so neither the
 * length of a key nor which one matched shows in the timing.
 */
export class ApiKeys {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[] = []) {
    this.digests = keys.map(sha256);
  }

  /** Whether any key is configured; none: writes are open. */
  get required(): boolean {
    return this.digests.length > 0;
  }

  accepts(key: string): boolean {
    const digest = sha256(key);
    let accepted = false;
    for (const known of this.digests) accepted = timingSafeEqual(digest, known) || accepted;
    return accepted;
  }
}

/**
 * The key a request presents: `x-api-key`, else `authorization: Bearer <key>`
 * (scheme in any case, RFC 6750); undefined when it presents none.
 */
export function presentedApiKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers[API_KEY_HEADER];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  const match = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Prefix of the subprotocol that carries an API key, base64url-encoded, from a browser. */
export const API_KEY_SUBPROTOCOL_PREFIX = 'apikey.';

/**
 * The key a WebSocket handshake presents: as `presentedApiKey` reads
 * headers (command-line clients), else from a `Sec-WebSocket-Protocol`
 * entry `apikey.<base64url(key)>`, the one place a browser's `new
 * WebSocket(url, protocols)` can put it. Not the query string: URLs end up
 * in access logs, proxies' included, and browser history. (Kubernetes'
 * API server takes bearer tokens from WebSocket clients the same way.)
 */
export function presentedWebSocketApiKey(headers: IncomingHttpHeaders): string | undefined {
  const key = presentedApiKey(headers);
  if (key !== undefined) return key;
  const offered = headers['sec-websocket-protocol']?.split(',') ?? [];
  for (const protocol of offered.map((p) => p.trim())) {
    if (!protocol.startsWith(API_KEY_SUBPROTOCOL_PREFIX)) continue;
    const encoded = protocol.slice(API_KEY_SUBPROTOCOL_PREFIX.length);
    // base64url only: anything else is no key, not a garbled one.
    if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return '';
    return Buffer.from(encoded, 'base64url').toString('utf8');
  }
  return undefined;
}
