import type { Readable } from 'node:stream';

/** Where the next frame is to be written: `frameBytes` bytes, by default a new buffer. */
export type FrameTarget = (frameBytes: number) => Buffer;

const newBuffer: FrameTarget = (frameBytes) => Buffer.allocUnsafe(frameBytes);

/**
 * Cuts a byte stream into frames of exactly `frameBytes`. Each chunk is
 * copied once into the frame it belongs to (no concat per chunk), a frame
 * being the buffer `target` gives (a recycled message buffer of the
 * caller's, so nothing is copied again), and the next chunk is only read
 * when the consumer asks for the next frame, so a consumer that stops
 * pulling stops the producer on the other end of the pipe. A partial last
 * frame is dropped.
 */
export async function* fixedSizeFrames(
  readable: Readable,
  frameBytes: number,
  signal: AbortSignal,
  target: FrameTarget = newBuffer,
): AsyncGenerator<Buffer> {
  let frame = target(frameBytes);
  let filled = 0;
  for await (const chunk of readable as AsyncIterable<Buffer>) {
    signal.throwIfAborted();
    let offset = 0;
    while (offset < chunk.length) {
      const n = chunk.copy(frame, filled, offset, offset + frameBytes - filled);
      filled += n;
      offset += n;
      if (filled === frameBytes) {
        yield frame;
        frame = target(frameBytes);
        filled = 0;
      }
    }
  }
}
