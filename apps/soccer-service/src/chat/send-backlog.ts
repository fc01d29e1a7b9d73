import type { Writable } from 'node:stream';

/** The side of a call messages are written to. */
export type OutgoingCall = Pick<Writable, 'writableNeedDrain' | 'on' | 'off'>;

/**
 * Counts the messages handed to a call while its write buffer is full. Nest
 * (writeObservableToGrpc) keeps those in an unbounded array until 'drain',
 * so this count is what a slow reader costs in memory; it restarts at every
 * 'drain'.
 */
export class SendBacklog {
  private pending = 0;
  private readonly onDrain = () => {
    this.pending = 0;
  };

  constructor(
    private readonly call: OutgoingCall,
    private readonly max: number,
  ) {
    call.on('drain', this.onDrain);
  }

  /** Messages waiting in memory for this call. */
  get size(): number {
    return this.pending;
  }

  /** Counts one more message for the call; false once more than `max` would wait. */
  admit(): boolean {
    if (!this.call.writableNeedDrain) return true;
    if (this.pending >= this.max) return false;
    this.pending += 1;
    return true;
  }

  dispose(): void {
    this.call.off('drain', this.onDrain);
  }
}
