import { describe, expect, it } from 'vitest';
import { readAhead } from './read-ahead.js';

/** A source of 1..n that records how far it was pulled and whether it was closed. */
function counting(n: number, failAt?: number) {
  const state = { made: 0, closed: false };
  async function* source() {
    try {
      for (let i = 1; i <= n; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i === failAt) throw new Error(`failed at ${i}`);
        state.made = i;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: source() };
}

describe('readAhead', () => {
  it('yields every item in order, making one ahead of the consumer and no more', async () => {
    const { state, source } = counting(5);
    const seen: number[] = [];
    for await (const i of readAhead(source)) {
      await new Promise((resolve) => setTimeout(resolve, 10)); // a slow consumer
      expect(state.made).toBe(Math.min(i + 1, 5));
      seen.push(i);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(state.closed).toBe(true);
  });

  it('a consumer that stops closes the source once the item in flight is made', async () => {
    const { state, source } = counting(100);
    for await (const i of readAhead(source)) if (i === 3) break;
    expect(state.made).toBe(4);
    expect(state.closed).toBe(true);
  });

  it("passes the source's error on, after the items before it", async () => {
    const { state, source } = counting(5, 3);
    const seen: number[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(
        (async () => {
          for await (const i of readAhead(source)) {
            await new Promise((resolve) => setTimeout(resolve, 20)); // the error comes meanwhile
            seen.push(i);
          }
        })(),
      ).rejects.toThrow('failed at 3');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(seen).toEqual([1, 2]);
    expect(unhandled).toEqual([]);
    expect(state.closed).toBe(true);
  });
});
