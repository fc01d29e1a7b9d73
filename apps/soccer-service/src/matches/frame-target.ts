/**
 * Where the next frame is to be written: `frameBytes` bytes (a message buffer
 * of the Watch's, or a new one). In shared memory when `shared`: a decoder
 * thread writes it there (node-av-thread.ts). Only then, as a copy into
 * shared memory from JavaScript goes through V8's byte-safe memmove, 5x
 * slower than into a buffer of its own.
 */
export type FrameTarget = (frameBytes: number, shared?: boolean) => Buffer;

/** A new buffer for a frame, or for a message of `bytes`. */
export const newFrameBuffer: FrameTarget = (bytes, shared = false) =>
  shared ? Buffer.from(new SharedArrayBuffer(bytes)) : Buffer.allocUnsafeSlow(bytes);

export function isShared(buffer: Buffer): boolean {
  return buffer.buffer instanceof SharedArrayBuffer;
}

/**
 * A target whose buffers are used again once given back: it holds as many as
 * are in use at once (a decoder writes frames ahead, each into its own).
 */
export class FrameBuffers {
  private readonly free: Buffer[] = [];

  take: FrameTarget = (frameBytes, shared = false) => {
    const frame = this.free.pop();
    return frame?.length === frameBytes && isShared(frame) === shared
      ? frame
      : newFrameBuffer(frameBytes, shared);
  };

  /** `frame`, which `take` gave, is done with. */
  give(frame: Buffer): void {
    this.free.push(frame);
  }
}
