import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeWithinGrace, type DrainHold } from './close-within-grace.js';

/** A close that ends when told to, as app.close() does once what holds it is cut or done. */
function pendingClose() {
  let done!: () => void;
  const closed = new Promise<void>((resolve) => (done = resolve));
  return { close: () => closed, done };
}

describe('closeWithinGrace', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  const logger = new Logger('test');

  function run(close: () => Promise<void>, hold?: DrainHold) {
    const cuts: number[] = [];
    const exit = closeWithinGrace(close, {
      graceMs: 1000,
      onGraceOver: () => cuts.push(performance.now()),
      cutting: 'cutting',
      started: performance.now(),
      logger,
      hold,
    });
    return { cuts, exit };
  }

  it('exits 0 when closed within the grace period, cutting nothing', async () => {
    const { close, done } = pendingClose();
    const { cuts, exit } = run(close);
    await vi.advanceTimersByTimeAsync(500);
    done();
    expect(await exit).toBe(0);
    expect(cuts).toEqual([]);
  });

  it('cuts at the grace period, and exits 1 if closing still hangs 5 s later', async () => {
    const { cuts, exit } = run(() => new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(1000);
    expect(cuts).toEqual([1000]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await exit).toBe(1);
  });

  it('with nothing of the hold in flight, cuts at the grace period as before', async () => {
    const { close, done } = pendingClose();
    const { cuts, exit } = run(close, { what: 'upload', inFlight: () => 0, maxMs: 60_000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(cuts).toEqual([1000]);
    done();
    expect(await exit).toBe(0);
  });

  it('holds the cut while uploads are in flight: they finish, closing ends, nothing is cut', async () => {
    let uploads = 1;
    const { close, done } = pendingClose();
    const { cuts, exit } = run(close, { what: 'upload', inFlight: () => uploads, maxMs: 60_000 });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(cuts).toEqual([]);
    uploads = 0;
    done();
    expect(await exit).toBe(0);
    expect(cuts).toEqual([]);
  });

  it('cuts once the uploads are done if something else still holds closing', async () => {
    let uploads = 2;
    const { cuts, exit } = run(() => new Promise(() => undefined), {
      what: 'upload',
      inFlight: () => uploads,
      maxMs: 60_000,
    });
    await vi.advanceTimersByTimeAsync(10_000);
    uploads = 0;
    await vi.advanceTimersByTimeAsync(1000);
    expect(cuts).toHaveLength(1);
    expect(cuts[0]).toBeGreaterThanOrEqual(10_000);
    expect(cuts[0]).toBeLessThan(11_000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await exit).toBe(1);
  });

  it('cuts at the hold bound, counted from the start, however many uploads remain', async () => {
    const { close, done } = pendingClose();
    const { cuts, exit } = run(close, { what: 'upload', inFlight: () => 1, maxMs: 30_000 });
    await vi.advanceTimersByTimeAsync(29_000);
    expect(cuts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1500);
    expect(cuts).toHaveLength(1);
    expect(cuts[0]).toBeGreaterThanOrEqual(30_000);
    done();
    expect(await exit).toBe(0);
  });

  it('a bound below the grace period holds nothing', async () => {
    const { close, done } = pendingClose();
    const { cuts, exit } = run(close, { what: 'upload', inFlight: () => 1, maxMs: 0 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(cuts).toEqual([1000]);
    done();
    expect(await exit).toBe(0);
  });
});
