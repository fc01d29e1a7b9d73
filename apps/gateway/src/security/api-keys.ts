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
