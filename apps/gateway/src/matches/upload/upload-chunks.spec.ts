import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { toUploadChunks, UPLOAD_CHUNK_BYTES, UploadTooLargeError } from './upload-chunks.js';

async function collect(buffers: Buffer[], maxBytes = Number.MAX_SAFE_INTEGER) {
  const body = Readable.from(buffers, { objectMode: true }) as AsyncIterable<Buffer>;
  const chunks = [];
  for await (const c of toUploadChunks('m1', true, maxBytes)(body)) chunks.push(c);
  return chunks;
}

const bytes = (n: number, seed = 0) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i + seed) % 251));

describe('toUploadChunks', () => {
  it('re-cuts any buffer sizes into 64 KiB chunks, bytes in order, id only in the first', async () => {
    const input = [
      bytes(1000),
      bytes(UPLOAD_CHUNK_BYTES, 7),
      bytes(3 * UPLOAD_CHUNK_BYTES + 5, 3),
      bytes(1),
    ];
    const chunks = await collect(input);
    expect(chunks.map((c) => c.data.length)).toEqual([
      ...Array<number>(4).fill(UPLOAD_CHUNK_BYTES),
      1000 + 5 + 1,
    ]);
    expect(Buffer.concat(chunks.map((c) => c.data))).toEqual(Buffer.concat(input));
    expect(chunks[0]).toMatchObject({ id: 'm1', overwrite: true });
    expect(chunks.slice(1).every((c) => c.id === '' && !c.overwrite)).toBe(true);
  });

  it('sends one empty chunk for an empty body, so the service sees the id', async () => {
    const chunks = await collect([]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ id: 'm1', overwrite: true });
    expect(chunks[0].data.length).toBe(0);
  });

  it('throws UploadTooLargeError once the bytes pass the limit', async () => {
    await expect(collect([bytes(10), bytes(10)], 15)).rejects.toBeInstanceOf(UploadTooLargeError);
    await expect(collect([bytes(10), bytes(5)], 15)).resolves.toHaveLength(1);
  });
});
