import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** How long an exit waits, at most, for a full stdout to take the last lines. */
const EXIT_WRITE_MS = 1000;
/** How long a line waits, at most, for the lines after it: they are written together. */
const LOG_FLUSH_INTERVAL_MS = 10;
/** The buffer's size: full, its lines are written at once. A longer line gets a buffer of its own. */
const BUFFER_BYTES = 64 * 1024;

/**
 * The apps' pino destination when stdout is not a terminal: the lines are
 * encoded into one buffer as pino hands them over, and written by one
 * write(2) on the main thread LOG_FLUSH_INTERVAL_MS after the first of
 * them, or as soon as the buffer is full.
 *
 * pino's own destination (sonic-boom, asynchronous) writes through libuv's
 * thread pool: a thread hand-off per write, which under load cost
 * cheese-service a tenth of its CPU per call (docs/benchmarks.md).
 *
 * Written every LOG_FLUSH_INTERVAL_MS rather than at the end of each
 * event-loop turn, because each write(2) to a pipe wakes its reader (a log
 * collector), which then takes a core from the app: under load that was
 * ~2 000 writes a second, and cheese-service answered 3-12 % fewer calls
 * (docs/performance-investigations.md). Each line is encoded into the
 * buffer as it comes: encoding a string joined from the lines cost more
 * than write(2) itself.
 *
 * - Lines are written in order, each within LOG_FLUSH_INTERVAL_MS (and
 *   the event loop's lag).
 * - A full pipe does not block the event loop: what write(2) could not take
 *   goes to `stream` (process.stdout), which libuv writes as the pipe
 *   drains, and later lines follow it there until it has.
 * - A closed stdout (EPIPE) ends the logging, as with pino's destination.
 * - On exit, and on pino's `flush()`, the pending lines are written at once.
 */
export class BatchedStdout {
  /** The pending lines, UTF-8, in `buffer` up to `length`. */
  private buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  private length = 0;
  /** Set while lines are pending: it writes them. */
  private timer: NodeJS.Timeout | undefined;
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
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    const most = line.length * 3;
    if (this.buffer.length - this.length < most) {
      this.writePending();
      // The write found stdout closed (EPIPE): nothing more is written.
      if (this.closed) return;
      if (this.buffer.length < most) this.buffer = Buffer.allocUnsafeSlow(most);
    }
    // Unref'd: pending lines do not keep a process alive; the exit writes them.
    if (this.length === 0)
      this.timer = setTimeout(this.writePending, LOG_FLUSH_INTERVAL_MS).unref();
    this.length += this.buffer.write(line, this.length);
  }

  /** pino's `logger.flush(cb)`: the pending lines now. */
  flush(cb?: (err?: Error) => void): void {
    this.writePending();
    cb?.();
  }

  private readonly writePending = (): void => {
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
    // A copy: the buffer takes the next lines.
    this.stream.write(Buffer.from(lines.subarray(written)));
  };

  /** The pending lines, which stay valid until the next write() (none when closed). */
  private take(): Buffer | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    const { length } = this;
    if (length === 0 || this.closed) return undefined;
    this.length = 0;
    const lines = this.buffer.subarray(0, length);
    // A buffer made for a long line (a stack trace) is not kept.
    if (this.buffer.length > BUFFER_BYTES) this.buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
    return lines;
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
   * No more event loop: the last lines are written synchronously, a full pipe
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
