import type { ServerResponse } from 'node:http';

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
