import { afterEach, describe, expect, it, vi } from 'vitest';
import { stdTimeFunctions } from 'pino';
import { cachedIsoTime } from './iso-time.js';

describe('cachedIsoTime', () => {
  afterEach(() => vi.useRealTimers());

  it("writes what pino's isoTime writes, across milliseconds, seconds, days and years", () => {
    vi.useFakeTimers();
    const time = cachedIsoTime();
    const instants = [
      Date.UTC(2026, 11, 3, 3, 45, 12, 0),
      Date.UTC(2026, 11, 3, 3, 45, 12, 7),
      Date.UTC(2026, 11, 3, 3, 45, 12, 42),
      Date.UTC(2026, 11, 3, 3, 45, 12, 999),
      Date.UTC(2026, 11, 3, 3, 45, 13, 0),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 0, 1, 0, 0, 0, 5),
      // back in time (a clock step): the cached second is not reused
      Date.UTC(2026, 11, 3, 3, 45, 12, 500),
    ];
    for (const instant of instants) {
      vi.setSystemTime(instant);
      expect(time()).toBe(stdTimeFunctions.isoTime());
    }
  });

  it('is valid JSON after a comma, as pino splices it into the line', () => {
    const line = `{"level":30${cachedIsoTime()()}}`;
    const { time } = JSON.parse(line) as { time: string };
    expect(new Date(time).toISOString()).toBe(time);
  });
});
