import { afterEach, describe, expect, it, vi } from 'vitest';
import { FixedWindowCounters, rateLimitOptions } from './rate-limit.js';

describe('FixedWindowCounters', () => {
  afterEach(() => vi.useRealTimers());

  it('counts a client within its window, blocks above the limit until the window ends', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const counters = new FixedWindowCounters();
    for (let hit = 1; hit <= 3; hit++) {
      expect(await counters.increment('10.0.0.1', 60_000, 3)).toMatchObject({
        totalHits: hit,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
    }
    vi.advanceTimersByTime(20_500);
    expect(await counters.increment('10.0.0.1', 60_000, 3)).toMatchObject({
      totalHits: 4,
      isBlocked: true,
      timeToBlockExpire: 40, // seconds to the window's end, rounded up: Retry-After
    });
    // Another client has its own window.
    expect((await counters.increment('10.0.0.2', 60_000, 3)).isBlocked).toBe(false);
    vi.advanceTimersByTime(39_500);
    expect(await counters.increment('10.0.0.1', 60_000, 3)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });

  it('forgets clients whose window ended', async () => {
    vi.useFakeTimers();
    const counters = new FixedWindowCounters();
    for (let i = 0; i < 100; i++) await counters.increment(`10.0.1.${i}`, 1000, 5);
    expect(counters.size).toBe(100);
    vi.advanceTimersByTime(2000);
    expect(counters.size).toBe(0);
  });
});

describe('rateLimitOptions', () => {
  it('limits per client address over all routes; 0 turns it off', () => {
    const storage = new FixedWindowCounters();
    const on = rateLimitOptions(
      { GATEWAY_RATE_LIMIT: 5, GATEWAY_RATE_LIMIT_WINDOW_MS: 1000 },
      storage,
    );
    if (Array.isArray(on)) throw new Error('expected module options');
    expect(on.throttlers).toEqual([{ name: 'default', limit: 5, ttl: 1000 }]);
    expect(on.storage).toBe(storage);
    expect(on.generateKey!({} as never, '127.0.0.1', 'default')).toBe('127.0.0.1');
    expect(on.getTracker!({ ip: '::ffff:127.0.0.1' }, {} as never)).toBe('127.0.0.1');
    expect(on.skipIf!({} as never)).toBe(false);
    const off = rateLimitOptions(
      { GATEWAY_RATE_LIMIT: 0, GATEWAY_RATE_LIMIT_WINDOW_MS: 1000 },
      storage,
    );
    expect(!Array.isArray(off) && off.skipIf!({} as never)).toBe(true);
  });
});
