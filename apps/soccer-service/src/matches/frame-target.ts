/** Where the next frame is to be written: `frameBytes` bytes (a message buffer of the Watch's, or a new one). */
export type FrameTarget = (frameBytes: number) => Buffer;

/** The target when a caller gives none: a new buffer per frame. */
export const newFrameBuffer: FrameTarget = (frameBytes) => Buffer.allocUnsafe(frameBytes);
