import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newFrameBuffer, type FrameTarget } from '../frame-target.js';

/** The most one read from the decoder takes. */
const READ_BYTES = 256 * 1024;

/**
 * A decoder's output as fixed-size frames, read without allocating: a
 * child's stdout pipe gives Node a new buffer per read (64 KiB), and at
 * ~100 MB/s of raw frames those buffers' external memory made V8 run a
 * full mark-compact every ~120 ms, ~40 % of soccer-service's CPU in a 360p
 * Watch (docs/benchmarks.md). Here the child writes into one end of a Unix
 * socket pair (`childEnd`, for spawn's stdio) and this end reads into one
 * buffer of its own (net.Socket `onread`), copied once into the frame's
 * target. Reading is paused while no frame is asked for, so a consumer that
 * stops pulling stops the child (its writes block).
 */
export class SocketFrames {
  private readonly readBuffer = Buffer.allocUnsafe(READ_BYTES);
  /** Bytes read past the frame being filled, for the next ones. */
  private carry = Buffer.allocUnsafe(READ_BYTES);
  private carryStart = 0;
  private carryEnd = 0;
  private frame: Buffer | undefined;
  private filled = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private socket!: Socket;

  private constructor(private readonly frameBytes: number) {}

  /** A connected pair: frames from `reader`, `childEnd` for the child's stdout. */
  static async open(frameBytes: number): Promise<{ reader: SocketFrames; childEnd: Socket }> {
    const reader = new SocketFrames(frameBytes);
    // Short: a socket path has at most ~104 bytes. Closing the server
    // unlinks it; the connection stays.
    const path = join(tmpdir(), `frames-${randomBytes(6).toString('hex')}.sock`);
    const server = createServer();
    try {
      server.listen(path);
      await once(server, 'listening');
      const accepted = once(server, 'connection') as Promise<[Socket]>;
      const socket = connect({
        path,
        onread: { buffer: reader.readBuffer, callback: reader.onRead },
      });
      socket.pause(); // until a frame is asked for
      await once(socket, 'connect');
      const [childEnd] = await accepted;
      reader.attach(socket);
      return { reader, childEnd };
    } finally {
      server.close();
    }
  }

  /**
   * Frames of exactly `frameBytes`, each written into the buffer `target`
   * gives when the frame is asked for (a recycled message buffer of the
   * caller's: nothing is copied again); a partial last frame is dropped.
   * Ends (closing the socket) however the iteration ends.
   */
  async *frames(signal: AbortSignal, target: FrameTarget = newFrameBuffer): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        signal.throwIfAborted();
        const frame = target(this.frameBytes);
        this.filled = this.takeCarry(frame);
        if (this.filled < this.frameBytes) {
          this.frame = frame;
          if (!(await this.filledOrEnded(signal))) return;
        }
        yield frame;
      }
    } finally {
      this.close();
    }
  }

  /** Bytes read from the child so far. */
  get bytesRead(): number {
    return this.socket.bytesRead;
  }

  close(): void {
    this.socket.destroy();
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    const settle = () => {
      this.wake?.();
    };
    socket.on('end', () => {
      this.ended = true;
      settle();
    });
    socket.on('error', (err) => {
      this.failure = err;
      settle();
    });
    socket.on('close', () => {
      this.ended = true;
      settle();
    });
  }

  /** Waits until the frame being filled is full (true) or the stream ended first (false). */
  private async filledOrEnded(signal: AbortSignal): Promise<boolean> {
    const aborted = () => this.wake?.();
    signal.addEventListener('abort', aborted, { once: true });
    try {
      while (this.frame) {
        signal.throwIfAborted();
        if (this.failure) throw this.failure;
        if (this.ended) return false;
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        this.socket.resume();
        await woken;
      }
      return true;
    } finally {
      this.wake = undefined;
      signal.removeEventListener('abort', aborted);
    }
  }

  /** net.Socket `onread`: `nread` bytes in the read buffer. Returning false pauses the socket. */
  private readonly onRead = (nread: number, buf: Buffer): boolean => {
    let offset = 0;
    const frame = this.frame;
    if (frame) {
      offset = buf.copy(frame, this.filled, 0, Math.min(nread, this.frameBytes - this.filled));
      this.filled += offset;
      if (this.filled === this.frameBytes) {
        this.frame = undefined;
        this.wake?.();
      }
    }
    if (offset < nread) this.keep(buf.subarray(offset, nread));
    return this.frame !== undefined;
  };

  /** Keeps bytes for the next frames (at most one read's worth while paused as it should be). */
  private keep(bytes: Buffer): void {
    const held = this.carryEnd - this.carryStart;
    if (this.carry.length - this.carryEnd < bytes.length) {
      if (this.carry.length < held + bytes.length) {
        const bigger = Buffer.allocUnsafe(held + bytes.length);
        this.carry.copy(bigger, 0, this.carryStart, this.carryEnd);
        this.carry = bigger;
      } else {
        this.carry.copyWithin(0, this.carryStart, this.carryEnd);
      }
      this.carryStart = 0;
      this.carryEnd = held;
    }
    this.carryEnd += bytes.copy(this.carry, this.carryEnd);
  }

  /** Moves kept bytes into the start of `frame`; returns how many. */
  private takeCarry(frame: Buffer): number {
    const end = Math.min(this.carryEnd, this.carryStart + this.frameBytes);
    const n = this.carry.copy(frame, 0, this.carryStart, end);
    this.carryStart += n;
    if (this.carryStart === this.carryEnd) this.carryStart = this.carryEnd = 0;
    return n;
  }
}
