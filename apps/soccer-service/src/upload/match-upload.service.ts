import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import type { stream } from '#proto';
import { isSyntheticMatchId } from '../matches/synthetic/synthetic-matches.js';
import { checkMatchId } from '../media/match-id.js';
import { MEDIA_DIR, MEDIA_TOOLS } from '../media/media.module.js';
import type { MediaTools } from '../media/media-tools.js';
import { NotAVideoError, probeVideo } from '../media/video-probe.js';
import { SoccerMetrics } from '../metrics/soccer-metrics.js';
import { rpcExceptionStatus } from './rpc-exception-status.js';
import { UploadChunksTransform, type UploadTarget } from './upload-chunks.transform.js';
import { fileExists, matchFilePath, moveIntoPlace, tempUploadPath } from './uploaded-files.js';
import { UPLOAD_LIMITS, type UploadLimits } from './upload-limits.js';
import { UploadsInFlight } from './uploads-in-flight.js';

/** Bytes the file stream may hold before the chunks stop being read. */
const FILE_BUFFER_BYTES = 1024 * 1024;

@Injectable()
export class MatchUploadService {
  private readonly logger = new Logger(MatchUploadService.name);

  constructor(
    @Inject(MEDIA_DIR) private readonly mediaDir: string,
    @Inject(MEDIA_TOOLS) private readonly tools: MediaTools,
    @Inject(UPLOAD_LIMITS) private readonly limits: UploadLimits,
    private readonly inFlight: UploadsInFlight,
    private readonly metrics: SoccerMetrics,
  ) {}

  /**
   * Stores the video arriving as `chunks` (UploadChunk objects) as
   * {MEDIA_DIR}/{id}.mp4. The chunks are read only as fast as the disk takes
   * them, which through grpc-js and HTTP/2 flow control paces the client.
   * The bytes go to a temp file that becomes the match only once complete
   * and probed as a video; whatever fails (bad input, limit, cancellation,
   * deadline via `signal`, UPLOAD_TIMEOUT_MS), the temp file is removed and
   * nothing appears. While it runs, the temp file is in UploadsInFlight.
   * Rejects with an RpcException only.
   */
  async store(chunks: Readable, signal: AbortSignal): Promise<stream.UploadResult> {
    const ffprobe = this.tools.ffprobe;
    if (!ffprobe) {
      throw new RpcException({
        code: status.FAILED_PRECONDITION,
        message: 'uploads are disabled: no ffprobe to check videos with (set FFPROBE_PATH)',
      });
    }
    const temp = tempUploadPath(this.mediaDir);
    this.inFlight.add(temp);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.limits.timeoutMs);
    const aborted = AbortSignal.any([signal, timeout.signal]);
    const file = createWriteStream(temp, {
      flags: 'wx',
      flush: true,
      highWaterMark: FILE_BUFFER_BYTES,
    });
    const body = new UploadChunksTransform(
      this.limits.maxBytes,
      (target) => this.accept(target),
      (bytes) => this.metrics.uploadReceived(bytes),
    );
    try {
      await pipeline(chunks, body, file, { signal: aborted });
      const { target, bytes } = body;
      if (!target || bytes === 0) {
        throw new RpcException({ code: status.INVALID_ARGUMENT, message: 'empty upload' });
      }
      await this.checkIsVideo(ffprobe, temp, target.id);
      aborted.throwIfAborted();
      await this.moveIntoPlace(temp, target);
      this.logger.log(`stored match ${target.id}: ${bytes} bytes`);
      this.metrics.uploadEnded(status.OK);
      return { id: target.id, bytes, sha256: body.sha256() };
    } catch (err) {
      const failure = this.failure(err, signal, timeout.signal);
      this.metrics.uploadEnded(rpcExceptionStatus(failure).code);
      throw failure;
    } finally {
      clearTimeout(timer);
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
      await rm(temp, { force: true });
      this.inFlight.delete(temp);
    }
  }

  /** Checks the first chunk's target before any byte is written. */
  private async accept({ id, overwrite }: UploadTarget): Promise<void> {
    if (!id) {
      throw new RpcException({
        code: status.INVALID_ARGUMENT,
        message: 'the first chunk must carry the match id',
      });
    }
    checkMatchId(id);
    if (isSyntheticMatchId(id)) {
      throw new RpcException({
        code: status.ALREADY_EXISTS,
        message: `match ${id} is built in and cannot be replaced`,
      });
    }
    // Early answer only, saving the transfer; moveIntoPlace is what decides.
    if (!overwrite && (await fileExists(matchFilePath(this.mediaDir, id)))) {
      throw alreadyExists(id);
    }
  }

  private async checkIsVideo(ffprobe: string, file: string, id: string): Promise<void> {
    try {
      await probeVideo(ffprobe, file);
    } catch (err) {
      if (!(err instanceof NotAVideoError)) throw err;
      throw new RpcException({
        code: status.INVALID_ARGUMENT,
        message: `upload ${id} is not a video ffprobe can read (${err.message})`,
      });
    }
  }

  private async moveIntoPlace(temp: string, { id, overwrite }: UploadTarget): Promise<void> {
    try {
      await moveIntoPlace(temp, matchFilePath(this.mediaDir, id), overwrite);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(id);
      throw err;
    }
  }

  /** The RpcException to answer `err` with. */
  private failure(err: unknown, signal: AbortSignal, timeout: AbortSignal): RpcException {
    if (signal.aborted) {
      return new RpcException({ code: status.CANCELLED, message: 'upload cancelled' });
    }
    if (timeout.aborted) {
      return new RpcException({
        code: status.DEADLINE_EXCEEDED,
        message: `upload not done within UPLOAD_TIMEOUT_MS (${this.limits.timeoutMs} ms)`,
      });
    }
    if (err instanceof RpcException) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new RpcException({
        code: status.RESOURCE_EXHAUSTED,
        message: 'no space left to store uploads',
      });
    }
    this.logger.error(`upload failed: ${(err as Error).stack ?? String(err)}`);
    return new RpcException({ code: status.INTERNAL, message: 'upload failed' });
  }
}

function alreadyExists(id: string): RpcException {
  return new RpcException({
    code: status.ALREADY_EXISTS,
    message: `match ${id} already exists; set overwrite to replace it`,
  });
}
