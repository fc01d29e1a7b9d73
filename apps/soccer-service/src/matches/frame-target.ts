/** Where the next frame is to be written: `frameBytes` bytes (a message buffer of the Watch's, or a new one). */
export type FrameTarget = (frameBytes: number) => Buffer;
