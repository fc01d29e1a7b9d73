import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { richRpcException, stream } from '#proto';
import { EncodedMessage, GrpcOperations } from '#grpc';
import { checkMatchId, invalidArgument, SOCCER_ERROR_DOMAIN } from '../media/match-id.js';
import { SoccerMetrics } from '../metrics/soccer-metrics.js';
import { DEFAULT_JPEG_QUALITY, encodeJpeg } from './jpeg-encoder.js';
import { FrameBuffers } from './frame-target.js';
import { MatchCatalogService, type OpenMatch } from './match-catalog.service.js';
import { VideoMessages } from './video-messages.js';

/**
 * Streams a match's frames, pulled one at a time at the pace of the reader:
 * the next frame is produced only once the gRPC call can take it (Nest's own
 * writer would otherwise buffer every frame a slow reader has not taken).
 *
 * On shutdown every watch stops at once: its source is aborted (an ffmpeg
 * child is killed) and the stream ends with UNAVAILABLE, so the client knows
 * to watch again elsewhere; the app waits for the sources to be gone (ffmpeg
 * reaped) before the process exits.
 */
@Injectable()
export class MatchWatchService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Watch');
  private active = 0;
  /** The watches' sources, settled once their frames (and any ffmpeg child) are gone. */
  private readonly sources = new Set<Promise<void>>();

  constructor(
    private readonly catalog: MatchCatalogService,
    private readonly operations: GrpcOperations,
    private readonly metrics: SoccerMetrics,
  ) {}

  /** Nest's shutdown hook, after the server has closed: sources are released. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.sources]);
  }

  watch(request: stream.Match, call: Writable): Observable<WatchedVideo> {
    return new Observable<WatchedVideo>((subscriber) => {
      const shutdown = this.operations.shutdownSignal;
      if (shutdown.aborted) {
        subscriber.error(shuttingDown());
        return;
      }
      const abort = new AbortController();
      const label = JSON.stringify(request.id.slice(0, 64)); // never raw input in logs
      let sent = 0;
      let ended = false;
      const end = (how: string) => {
        if (ended) return;
        ended = true;
        this.active--;
        this.logger.log(`Watch ${label} ${how} after ${sent} frames (${this.active} active)`);
      };
      this.active++;
      this.logger.log(`Watch ${label} started (${this.active} active)`);

      const run = async () => {
        validateRequest(request);
        const match = await this.catalog.open(checkMatchId(request.id));
        const frames = this.metrics.watchFrames(request.encoding);
        for await (const { video, bytes } of this.videos(match, request, abort.signal)) {
          await whenWritable(call, abort.signal);
          subscriber.next(video);
          frames.sent(bytes);
          if (++sent === request.maxFrames) break;
        }
      };
      const source = run().then(
        () => {
          end('ended');
          subscriber.complete();
        },
        (err: unknown) => {
          if (abort.signal.aborted) return;
          end(`failed (${err instanceof Error ? err.message : String(err)})`);
          subscriber.error(err instanceof RpcException ? err : internal(err));
        },
      );
      this.sources.add(source);
      void source.finally(() => this.sources.delete(source));

      const stop = () => {
        end('stopped (server shutting down)');
        abort.abort();
        subscriber.error(shuttingDown());
      };
      shutdown.addEventListener('abort', stop, { once: true });
      // Nest unsubscribes when the client cancels or goes away (and after the end).
      return () => {
        shutdown.removeEventListener('abort', stop);
        abort.abort();
        end('cancelled');
      };
    });
  }

  /**
   * The Video messages of `match` with their frame's size. Raw frames go
   * pre-encoded (VideoMessages: a decoded frame lands in the message that
   * carries it); JPEG ones as objects for protobufjs to encode.
   */
  private async *videos(
    match: OpenMatch,
    request: stream.Match,
    signal: AbortSignal,
  ): AsyncGenerator<{ video: WatchedVideo; bytes: number }> {
    const jpeg = request.encoding === stream.Encoding.JPEG;
    const dataShape = `(${match.height}, ${match.width}, 3)`;
    const frameMs = 1000 / match.fps;
    const pace = request.fps > 0 ? 1000 / request.fps : 0;
    const frameBytes = match.width * match.height * 3;
    const raw = jpeg
      ? undefined
      : new VideoMessages(frameBytes, 'uint8', dataShape, request.encoding);
    // A JPEG frame's buffer is used again once encoded; the decoder writes the next ones meanwhile.
    const jpegFrames = new FrameBuffers();
    const target = raw ? raw.frameTarget : jpegFrames.take;
    const started = performance.now();
    let seq = 0;
    for await (const frame of match.frames(jpeg ? 'rgb' : 'bgr', signal, target)) {
      if (pace) {
        const wait = started + seq * pace - performance.now();
        if (wait > 0) await sleep(wait, undefined, { signal });
        // After a stall (a slow reader), live goes on from the present: the
        // frames it missed are skipped, not sent in a burst to catch up.
        else if (match.live) seq += Math.floor(-wait / pace);
      }
      const ptsMs = Math.round(seq * frameMs);
      if (raw) {
        yield { video: raw.message(frame, seq, ptsMs), bytes: frame.length };
      } else {
        const quality = request.jpegQuality || DEFAULT_JPEG_QUALITY;
        const data = await encodeJpeg(frame, match.width, match.height, quality);
        jpegFrames.give(frame);
        const video = {
          data,
          dataType: 'uint8',
          dataShape,
          seq,
          ptsMs,
          encoding: request.encoding,
        };
        yield { video: video satisfies stream.Video, bytes: data.length };
      }
      seq++;
    }
  }
}

/** What a Watch call writes: a Video, or one already in its wire form. */
export type WatchedVideo = stream.Video | EncodedMessage;

function validateRequest(request: stream.Match): void {
  const bad = (message: string, field: string) =>
    invalidArgument(message, 'INVALID_WATCH_REQUEST', field);
  const known = [stream.Encoding.RAW, stream.Encoding.JPEG];
  if (!known.includes(request.encoding)) {
    throw bad(`unknown encoding ${request.encoding}; valid: RAW (0), JPEG (1)`, 'encoding');
  }
  if (request.jpegQuality > 100) {
    throw bad(`jpeg_quality ${request.jpegQuality} is over 100`, 'jpeg_quality');
  }
  if (request.fps > 1000) throw bad(`fps ${request.fps} is over 1000`, 'fps');
}

/** Resolves once `call` takes writes without buffering; rejects on abort. */
async function whenWritable(call: Writable, signal: AbortSignal): Promise<void> {
  if (call.writableNeedDrain) await once(call, 'drain', { signal });
}

/** Watch again now: another replica serves it (RetryInfo 0, so retries go at once). */
function shuttingDown(): RpcException {
  return richRpcException(status.UNAVAILABLE, 'server is shutting down; watch again to continue', {
    reason: 'SHUTTING_DOWN',
    domain: SOCCER_ERROR_DOMAIN,
    retryDelayMs: 0,
  });
}

function internal(err: unknown): RpcException {
  return new RpcException({
    code: status.INTERNAL,
    message: `stream failed: ${err instanceof Error ? err.message : String(err)}`,
  });
}
