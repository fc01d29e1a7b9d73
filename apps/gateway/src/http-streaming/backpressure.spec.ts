import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { BoundedQueue, LatestWins } from './backpressure.js';

/** A Writable that takes writes only when told to, like a socket whose reader stalls. */
function stalledSocket() {
  const written: string[] = [];
  const pending: Array<() => void> = [];
  const out = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString());
      pending.push(callback);
    },
  });
  /** The reader catches up: every write completes, 'drain' follows. */
  const readAll = async () => {
    while (pending.length > 0) pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { out, written, readAll };
}

describe('LatestWins', () => {
  it('while the socket is full, keeps only the newest item and writes it on drain', async () => {
    const { out, written, readAll } = stalledSocket();
    const frames = new LatestWins<string>(out, (s) => out.write(s));
    frames.offer('f1'); // written; the socket is now full
    frames.offer('f2');
    frames.offer('f3');
    frames.offer('f4');
    expect(written).toEqual(['f1']);
    expect(frames.dropped).toBe(2);
    await readAll();
    expect(written).toEqual(['f1', 'f4']);
    await readAll();
    frames.offer('f5');
    expect(written).toEqual(['f1', 'f4', 'f5']);
  });

  it('is ready while the socket takes writes, and says so once it takes them again', async () => {
    const { out, written, readAll } = stalledSocket();
    const frames = new LatestWins<string>(out, (s) => out.write(s));
    const readyAgain = vi.fn();
    frames.onReady(readyAgain);
    expect(frames.ready).toBe(true);
    frames.offer('f1'); // the socket is now full
    frames.offer('f2');
    expect(frames.ready).toBe(false);
    expect(readyAgain).not.toHaveBeenCalled();
    await readAll(); // f2 goes out on the first drain, and is taken too
    expect(written).toEqual(['f1', 'f2']);
    expect(frames.ready).toBe(true);
    expect(readyAgain).toHaveBeenCalledTimes(1);
  });

  it('flush writes the held item at once (the last frame before the end)', () => {
    const { out } = stalledSocket();
    const handed: string[] = [];
    const frames = new LatestWins<string>(out, (s) => {
      handed.push(s);
      return out.write(s);
    });
    frames.offer('f1');
    frames.offer('f2');
    expect(handed).toEqual(['f1']);
    frames.flush();
    expect(handed).toEqual(['f1', 'f2']);
  });
});

describe('BoundedQueue', () => {
  it('keeps every item in order while the socket is full, up to the bound', async () => {
    const { out, written, readAll } = stalledSocket();
    const overflow = vi.fn();
    const queue = new BoundedQueue<string>(out, (s) => out.write(s), 3, overflow);
    for (const m of ['m1', 'm2', 'm3', 'm4']) queue.offer(m);
    expect(written).toEqual(['m1']);
    for (let i = 0; i < 4; i++) await readAll();
    expect(written).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(overflow).not.toHaveBeenCalled();
  });

  it('calls onOverflow once, and then takes nothing more, when one more would pass the bound', () => {
    const { out, written } = stalledSocket();
    const overflow = vi.fn();
    const queue = new BoundedQueue<string>(out, (s) => out.write(s), 2, overflow);
    for (const m of ['m1', 'm2', 'm3', 'm4', 'm5']) queue.offer(m);
    expect(overflow).toHaveBeenCalledTimes(1);
    expect(written).toEqual(['m1']);
  });
});
