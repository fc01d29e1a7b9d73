import { describe, expect, it } from 'vitest';
import { parseGrpcTimeout, requestedDeadline, withRequestedDeadline } from './call-deadline.js';

describe('parseGrpcTimeout', () => {
  it.each([
    ['1S', 1000],
    ['250m', 250],
    ['2M', 120_000],
    ['1H', 3_600_000],
    ['5000u', 5],
    ['99999999n', 99.999999],
  ])('%s -> %d ms', (value, ms) => expect(parseGrpcTimeout(value)).toBe(ms));

  it.each(['', '1', 'S', '1s', '-1S', '1.5S', '123456789S', '1 S x'])('refuses %j', (value) =>
    expect(parseGrpcTimeout(value)).toBeUndefined(),
  );
});

describe('withRequestedDeadline', () => {
  it('is the deadline of the code it runs, and of its async continuations only', async () => {
    expect(requestedDeadline()).toBeUndefined();
    await withRequestedDeadline(1234, async () => {
      await Promise.resolve();
      expect(requestedDeadline()).toBe(1234);
    });
    expect(requestedDeadline()).toBeUndefined();
  });
});
