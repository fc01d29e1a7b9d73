import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** How long an exit waits, at most, for a full stdout to take the last lines. */
const EXIT_WRITE_MS = 1000;
/** The turn buffer's size; a turn that logs more grows it, and it is made anew after. */
const TURN_BUFFER_BYTES = 64 * 1024;

/**
 * The apps' pino destination when stdout is not a terminal: the lines
 * logged during one event-loop turn are joined and written by one write(2)
 * on the main thread, once the turn's callbacks are done (setImmediate).
 *
 * pino's own destination (sonic-boom, asynchronous) writes through libuv's
 * thread pool: a thread hand-off per write, which under load cost
 * cheese-service a tenth of its CPU per call (docs/benchmarks.md).
 *
 * Each line is encoded into one reused buffer as it comes: writing the
 * turn's lines joined as a string spent more on encoding that string than
 * on write(2) itself (docs/performance-investigations.md).
 *
 * - A line is written at the end of the turn that logged it, lines in order.
 * - A full pipe does not block the event loop: what write(2) could not take
 *   goes to `stream` (process.stdout), which libuv writes as the pipe
 *   drains, and later lines follow it there until it has.
 * - A closed stdout (EPIPE) ends the logging, as with pino's destination.
 * - On exit, the turn's lines are written before the process ends.
 */
export class BatchedStdout {
  /** The turn's lines, UTF-8, in `buffer` up to `length`. */
  private buffer = Buffer.allocUnsafeSlow(TURN_BUFFER_BYTES);
  private length = 0;
  /** `stream` holds lines the pipe has not taken yet: later lines go after them. */
  private queued = false;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly stream: Writable,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    process.once('exit', () => this.writeAtExit());
  }

  /** pino's destination interface: one JSON line. */
  write(line: string): void {
    if (this.closed) return;
    if (this.length === 0) setImmediate(this.writeTurn);
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.buffer.length - this.length < line.length * 3) this.grow(line.length * 3);
    this.length += this.buffer.write(line, this.length);
  }

  /** pino's `logger.flush(cb)`: the pending lines now. */
  flush(cb?: (err?: Error) => void): void {
    this.writeTurn();
    cb?.();
  }

  private readonly writeTurn = (): void => {
    const lines = this.take();
    if (lines === undefined) return;
    if (this.behindQueuedLines) {
      this.stream.write(Buffer.from(lines));
      return;
    }
    this.queued = false;
    const written = this.writeNow(lines);
    if (this.closed || written === lines.length) return;
    this.queued = true;
    // A copy: the buffer takes the next turn's lines.
    this.stream.write(Buffer.from(lines.subarray(written)));
  };

  /** The pending lines, which stay valid until the next write() (none when closed). */
  private take(): Buffer | undefined {
    const { length } = this;
    if (length === 0 || this.closed) return undefined;
    this.length = 0;
    const lines = this.buffer.subarray(0, length);
    // A turn that grew the buffer (a burst, a stack trace) does not keep it.
    if (this.buffer.length > TURN_BUFFER_BYTES)
      this.buffer = Buffer.allocUnsafeSlow(TURN_BUFFER_BYTES);
    return lines;
  }

  private grow(bytes: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.buffer.length, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  /** `stream` still holds lines the pipe has not taken: new lines must go after them. */
  private get behindQueuedLines(): boolean {
    return this.queued && this.stream.writableLength > 0;
  }

  /** write(2): the bytes the pipe took, 0 when it is full. */
  private writeNow(lines: Buffer): number {
    try {
      return writeSync(this.fd, lines);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') this.fail(err as NodeJS.ErrnoException);
      return 0;
    }
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (err.code !== 'EPIPE') throw err;
    this.closed = true;
    this.length = 0;
  }

  /**
   * No more turns: the last lines are written synchronously, a full pipe
   * waited for up to EXIT_WRITE_MS. Behind lines `stream` still holds, they
   * can only be handed to it, as any write to process.stdout at exit.
   */
  private writeAtExit(): void {
    let rest = this.take();
    if (rest === undefined) return;
    if (this.behindQueuedLines) {
      this.stream.write(Buffer.from(rest));
      return;
    }
    const deadline = Date.now() + EXIT_WRITE_MS;
    while (rest.length > 0 && !this.closed && Date.now() < deadline) {
      const written = this.writeNow(rest);
      if (written === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      else rest = rest.subarray(written);
    }
  }
}

let stdout: BatchedStdout | undefined;

/** The process's one BatchedStdout: one writer of fd 1, so lines never interleave. */
export function batchedStdout(): BatchedStdout {
  stdout ??= new BatchedStdout(1, process.stdout);
  return stdout;
}
