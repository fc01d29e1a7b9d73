import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/** How long the last bytes of an ended stream may take to reach a stalled reader. */
const END_GRACE_MS = 10_000;

/**
 * Ends a streamed response (with `last` bytes, if any). A reader that has
 * stopped reading would otherwise hold the socket, and the bytes queued for
 * it, for ever: if the end has not been flushed within END_GRACE_MS, the
 * connection is dropped. A finished response is left alone, since its
 * keep-alive socket may already serve the next request.
 */
export function endStream(res: ServerResponse, last?: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.end(last);
  if (res.writableFinished) return;
  setTimeout(() => {
    if (!res.writableFinished) res.destroy();
  }, END_GRACE_MS).unref();
}

/**
 * Takes the response over from Fastify (`reply.hijack()`), with the headers
 * set so far through `reply.header()` (the security headers, the request
 * id, Retry-After): Fastify holds those until it sends, and from now on it
 * sends nothing.
 */
export function hijackWithHeaders(reply: FastifyReply): void {
  const res = reply.raw;
  if (!res.headersSent) {
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
  reply.hijack();
}
