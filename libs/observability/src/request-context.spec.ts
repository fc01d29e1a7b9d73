import { describe, expect, it } from 'vitest';
import { acceptRequestId, currentRequestId, runInRequestContext } from './request-context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('acceptRequestId', () => {
  it.each(['abc', 'order-42.e2e', 'trace:1_2', 'x'.repeat(128)])('keeps %s', (id) => {
    expect(acceptRequestId(id)).toBe(id);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['a space', 'a b'],
    ['a newline (log injection)', 'a\n{"level":60}'],
    ['a quote', 'a"b'],
    ['not a string', 42],
  ])('replaces %s with a new UUID', (_case, id) => {
    expect(acceptRequestId(id)).toMatch(UUID);
  });

  it('takes the first of repeated values', () => {
    expect(acceptRequestId(['first', 'second'])).toBe('first');
  });
});

describe('runInRequestContext', () => {
  it('follows async continuations and ends with the call', async () => {
    const seen = await runInRequestContext({ requestId: 'r1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentRequestId();
    });
    expect(seen).toBe('r1');
    expect(currentRequestId()).toBeUndefined();
  });
});
