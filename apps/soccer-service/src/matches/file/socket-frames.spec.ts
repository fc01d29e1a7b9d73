import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SocketFrames } from './socket-frames.js';

/** Writes `chunks` into the child's end as a decoder would, then ends it. */
async function writeAll(childEnd: Socket, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (!childEnd.write(chunk)) await once(childEnd, 'drain');
  }
  childEnd.end();
}

async function collect(chunks: Buffer[], frameBytes: number): Promise<Buffer[]> {
  const { reader, childEnd } = await SocketFrames.open(frameBytes);
  const written = writeAll(childEnd, chunks);
  const frames: Buffer[] = [];
  for await (const frame of reader.frames(new AbortController().signal)) {
    frames.push(Buffer.from(frame));
  }
  await written;
  return frames;
}

/** `bytes` bytes of a pattern that differs from frame to frame. */
const pattern = (bytes: number, seed = 0) =>
  Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 7 + seed) % 251));

describe('SocketFrames', () => {
  it('cuts frames across writes and drops a partial last frame', async () => {
    const chunks = [[1, 2], [3, 4, 5, 6, 7], [8], [9, 10]].map((c) => Buffer.from(c));
    expect((await collect(chunks, 3)).map((f) => [...f])).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
  });

  it('carries frames far larger than one read, and many frames within one', async () => {
    const big = pattern(3 * 700_001 + 5);
    const frames = await collect([big], 700_001);
    expect(frames).toHaveLength(3);
    frames.forEach((f, i) =>
      expect(f.equals(big.subarray(i * 700_001, (i + 1) * 700_001))).toBe(true),
    );

    const small = pattern(30_000, 3);
    const many = await collect([small], 3);
    expect(many).toHaveLength(10_000);
    expect(Buffer.concat(many).equals(small)).toBe(true);
  });

  it('writes each frame into the buffer its target gives when it is asked for', async () => {
    const { reader, childEnd } = await SocketFrames.open(4);
    const written = writeAll(childEnd, [Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]);
    const targets: Buffer[] = [];
    const target = (bytes: number) => {
      const buffer = Buffer.alloc(bytes);
      targets.push(buffer);
      return buffer;
    };
    const frames: Buffer[] = [];
    for await (const frame of reader.frames(new AbortController().signal, target)) {
      frames.push(frame);
    }
    await written;
    expect(frames).toHaveLength(2);
    expect(frames[0]).toBe(targets[0]);
    expect(frames[1]).toBe(targets[1]);
    expect(frames.map((f) => [...f])).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });

  it('reads no further than the frame asked for: a stalled consumer holds the writer back', async () => {
    const frameBytes = 1024 * 1024;
    const { reader, childEnd } = await SocketFrames.open(frameBytes);
    const frames = reader.frames(new AbortController().signal);
    childEnd.write(Buffer.alloc(32 * frameBytes, 7));
    expect((await frames.next()).value).toHaveLength(frameBytes);
    // Nothing asks for the next frame. A reader that kept going would take
    // ~256 KiB per event-loop turn; this one stops at the frame plus one read.
    for (let turn = 0; turn < 100; turn++) await new Promise(setImmediate);
    expect(childEnd.writableLength).toBeGreaterThan(0);
    expect(reader.bytesRead).toBeLessThan(frameBytes + 512 * 1024);
    await frames.return(undefined);
    childEnd.destroy();
  });

  it('stops once aborted, and closes its end', async () => {
    const { reader, childEnd } = await SocketFrames.open(2);
    childEnd.write(Buffer.from([1, 2, 3, 4, 5, 6]));
    const abort = new AbortController();
    const seen: number[][] = [];
    const closed = once(childEnd, 'end');
    await expect(async () => {
      for await (const frame of reader.frames(abort.signal)) {
        seen.push([...frame]);
        abort.abort();
      }
    }).rejects.toThrow(/abort/i);
    expect(seen).toEqual([[1, 2]]);
    await closed;
    childEnd.destroy();
  });
});
