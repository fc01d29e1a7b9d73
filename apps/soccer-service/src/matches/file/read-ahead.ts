/**
 * `source`, with its next item already being made while the consumer works
 * on the current one: one item ahead, no more, so back-pressure holds. For
 * a decoder whose steps run on the thread pool, decoding frame n+1 overlaps
 * sending frame n, as an ffmpeg child's pipe buffer would have it. However
 * the iteration ends, the item in flight settles before `source` is
 * returned (its resources freed).
 */
export async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next();
  try {
    for (;;) {
      const item = await next;
      if (item.done) return;
      next = source.next();
      // Rejected while the consumer holds `item`: awaited at the next turn, not unhandled.
      next.catch(() => undefined);
      yield item.value;
    }
  } finally {
    await next.catch(() => undefined);
    await source.return(undefined);
  }
}
