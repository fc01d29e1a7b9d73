import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import type { stream } from '#proto';

/** Where an upload goes, as its first chunk says. */
export interface UploadTarget {
  id: string;
  overwrite: boolean;
}

/**
 * Turns UploadChunk messages into the file's bytes. On the way it takes the
 * target from the first chunk (`accept` may reject it), counts the bytes
 * against `maxBytes` and hashes them, so the stored file is never read again.
 */
export class UploadChunksTransform extends Transform {
  /** Bytes passed on so far. */
  bytes = 0;
  /** Set by the first chunk. */
  target?: UploadTarget;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly maxBytes: number,
    private readonly accept: (target: UploadTarget) => Promise<void>,
    /** Told the size of each chunk taken (metrics). */
    private readonly received: (bytes: number) => void = () => undefined,
  ) {
    // One message queued on the way in: what is buffered is the client's
    // in-flight data, not a growing backlog.
    super({ writableObjectMode: true, writableHighWaterMark: 1 });
  }

  /** Hex SHA-256 of every byte passed on; call once, at the end. */
  sha256(): string {
    return this.hash.digest('hex');
  }

  override _transform(
    chunk: stream.UploadChunk,
    _encoding: BufferEncoding,
    done: TransformCallback,
  ): void {
    this.consume(chunk).then(
      (data) => done(null, data),
      (err: Error) => done(err),
    );
  }

  private async consume(chunk: stream.UploadChunk): Promise<Uint8Array | undefined> {
    if (!this.target) {
      this.target = { id: chunk.id, overwrite: chunk.overwrite };
      await this.accept(this.target);
    }
    const { data } = chunk;
    // Checked before the bytes go anywhere: an oversized upload stops here.
    if (this.bytes + data.length > this.maxBytes) {
      throw new RpcException({
        code: status.RESOURCE_EXHAUSTED,
        message: `upload larger than the limit of ${this.maxBytes} bytes`,
      });
    }
    this.bytes += data.length;
    this.received(data.length);
    this.hash.update(data);
    return data.length > 0 ? data : undefined;
  }
}
