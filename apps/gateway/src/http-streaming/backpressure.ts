import type { Writable } from 'node:stream';

/** Whether a reader would take an item now, and who to tell each time it can again. */
export interface Demand {
  readonly ready: boolean;
  onReady(listener: () => void): void;
}

/**
 * "Latest frame wins": while the socket is not writable, only the newest
 * item is kept (replacing the one before) and written on 'drain'. A slow
 * reader gets fewer frames, never a growing queue: at most one item waits.
 */
export class LatestWins<T> implements Demand {
  private waiting = false;
  private held: T | undefined;
  private skipped = 0;
  private readyListener: (() => void) | undefined;

  constructor(
    private readonly out: Writable,
    private readonly write: (item: T) => boolean,
  ) {}

  /** Items replaced before they could be written. */
  get dropped(): number {
    return this.skipped;
  }

  /** An item offered now would be written at once. */
  get ready(): boolean {
    return !this.waiting && !this.out.destroyed;
  }

  /** `listener` runs each time the socket drained and took what was held. */
  onReady(listener: () => void): void {
    this.readyListener = listener;
  }

  offer(item: T): void {
    if (this.out.destroyed) return;
    if (this.waiting) {
      if (this.held !== undefined) this.skipped++;
      this.held = item;
      return;
    }
    if (!this.write(item)) {
      this.waiting = true;
      this.out.once('drain', this.onDrain);
    }
  }

  /**
   * Writes the held item now, whatever the back-pressure (the last frame of a
   * match is worth one frame of buffer), and stops waiting for 'drain'.
   */
  flush(): void {
    this.out.off('drain', this.onDrain);
    this.waiting = false;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined && !this.out.destroyed) this.write(held);
  }

  private readonly onDrain = (): void => {
    this.waiting = false;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) this.offer(held);
    if (!this.waiting) this.readyListener?.();
  };
}

/**
 * In-order delivery with a bound: while the socket is not writable, items
 * queue up to `max`; one more and `onOverflow` runs (the caller drops the
 * reader) instead of letting memory grow. For chat, where every message counts.
 */
export class BoundedQueue<T> {
  private waiting = false;
  private readonly queue: T[] = [];
  private overflowed = false;

  constructor(
    private readonly out: Writable,
    private readonly write: (item: T) => boolean,
    private readonly max: number,
    private readonly onOverflow: () => void,
  ) {}

  offer(item: T): void {
    if (this.out.destroyed || this.overflowed) return;
    if (this.waiting) {
      if (this.queue.length >= this.max) {
        this.overflowed = true;
        this.queue.length = 0;
        this.out.off('drain', this.onDrain);
        this.onOverflow();
        return;
      }
      this.queue.push(item);
      return;
    }
    if (!this.write(item)) {
      this.waiting = true;
      this.out.once('drain', this.onDrain);
    }
  }

  /** Writes everything queued now (at most `max` items), before a last event. */
  flush(): void {
    this.out.off('drain', this.onDrain);
    this.waiting = false;
    for (const item of this.queue.splice(0)) if (!this.out.destroyed) this.write(item);
  }

  private readonly onDrain = (): void => {
    this.waiting = false;
    while (this.queue.length > 0 && !this.waiting) this.offer(this.queue.shift()!);
  };
}
