import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fixedSizeFrames } from './fixed-size-frames.js';

async function collect(chunks: number[][], frameBytes: number): Promise<number[][]> {
  const readable = Readable.from(chunks.map((c) => Buffer.from(c)));
  const frames: number[][] = [];
  for await (const frame of fixedSizeFrames(readable, frameBytes, new AbortController().signal)) {
    frames.push([...frame]);
  }
  return frames;
}

describe('fixedSizeFrames', () => {
  it('cuts frames across chunk boundaries and drops a partial last frame', async () => {
    expect(await collect([[1, 2], [3, 4, 5, 6, 7], [8], [9, 10]], 3)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
  });

  it('hands out a new buffer for every frame', async () => {
    const readable = Readable.from([Buffer.from([1, 2, 3, 4])]);
    const frames: Buffer[] = [];
    for await (const frame of fixedSizeFrames(readable, 2, new AbortController().signal))
      frames.push(frame);
    expect(frames[0]).not.toBe(frames[1]);
    expect(frames.map((f) => [...f])).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('stops reading once aborted', async () => {
    const abort = new AbortController();
    const readable = Readable.from([Buffer.from([1, 2]), Buffer.from([3, 4])]);
    const seen: number[][] = [];
    await expect(async () => {
      for await (const frame of fixedSizeFrames(readable, 2, abort.signal)) {
        seen.push([...frame]);
        abort.abort();
      }
    }).rejects.toThrow(/abort/i);
    expect(seen).toEqual([[1, 2]]);
  });
});
