import type { stream } from '#proto';

/** Bytes per UploadChunk: big enough to keep per-message overhead small, far below the 4 MiB limit. */
export const UPLOAD_CHUNK_BYTES = 64 * 1024;

/** The body went past the gateway's upload limit. */
export class UploadTooLargeError extends Error {
  override name = 'UploadTooLargeError';

  constructor(readonly limit: number) {
    super(`upload is larger than the gateway's limit of ${limit} bytes`);
  }
}

/**
 * A pipeline stage from the request body's buffers (whatever sizes the
 * socket delivers) to UploadChunk messages of UPLOAD_CHUNK_BYTES: id and
 * overwrite in the first one, as Upload wants. Counts the bytes and throws
 * UploadTooLargeError as soon as they pass `maxBytes`. An empty body still
 * sends one chunk, so the service sees the id and judges the empty file.
 */
export function toUploadChunks(id: string, overwrite: boolean, maxBytes: number) {
  return async function* (body: AsyncIterable<Buffer>): AsyncGenerator<stream.UploadChunk> {
    let first = true;
    const chunk = (data: Buffer): stream.UploadChunk => {
      const message = first ? { id, overwrite, data } : { id: '', overwrite: false, data };
      first = false;
      return message;
    };
    let total = 0;
    // The tail of the last buffer, less than one chunk.
    let parts: Buffer[] = [];
    let held = 0;
    for await (const buffer of body) {
      total += buffer.length;
      if (total > maxBytes) throw new UploadTooLargeError(maxBytes);
      let offset = 0;
      if (held > 0) {
        offset = Math.min(UPLOAD_CHUNK_BYTES - held, buffer.length);
        parts.push(buffer.subarray(0, offset));
        held += offset;
        if (held < UPLOAD_CHUNK_BYTES) continue;
        yield chunk(Buffer.concat(parts, held));
        parts = [];
        held = 0;
      }
      // Whole chunks are views of the socket's buffer: no copy for the common 64 KiB reads.
      for (; buffer.length - offset >= UPLOAD_CHUNK_BYTES; offset += UPLOAD_CHUNK_BYTES) {
        yield chunk(buffer.subarray(offset, offset + UPLOAD_CHUNK_BYTES));
      }
      if (offset < buffer.length) {
        parts.push(buffer.subarray(offset));
        held = buffer.length - offset;
      }
    }
    if (held > 0 || first) yield chunk(Buffer.concat(parts, held));
  };
}
