import type { ServerResponse } from 'node:http';
import { stream } from '#proto';
import type { ApiErrorBody } from '../../openapi/models.js';
import { LatestWins } from '../../http-streaming/backpressure.js';
import { endStream } from '../../http-streaming/raw-response.js';
import { toFrameEvent, type FrameSink } from './frame-sinks.js';

/** What asks for this format (grpc-gateway's streaming format). */
export const NDJSON = 'application/x-ndjson';

/** Whether an `Accept` header asks for NDJSON rather than Server-Sent Events. */
export function acceptsNdjson(accept: string | undefined): boolean {
  return accept?.toLowerCase().includes(NDJSON) ?? false;
}

const framedLines = new WeakMap<stream.Video, Buffer>();

/** The NDJSON line of `video`, made once however many viewers of a live match get it. */
function frameLine(video: stream.Video): Buffer {
  let line = framedLines.get(video);
  if (!line) {
    line = Buffer.from(`${JSON.stringify({ result: toFrameEvent(video) })}\n`);
    framedLines.set(video, line);
  }
  return line;
}

/**
 * The frames as newline-delimited JSON, as grpc-gateway streams: one
 * `{"result": FrameEvent}` line per frame, and a last `{"error": ApiError}`
 * line when the match fails after the first frame; the end of the body is
 * the end of the match. A slow reader gets the latest frame, as with SSE.
 */
export class NdjsonFrameSink implements FrameSink {
  readonly frames: LatestWins<stream.Video>;

  constructor(private readonly res: ServerResponse) {
    this.frames = new LatestWins(res, (video) => this.write(frameLine(video)));
  }

  open(): void {
    this.res.writeHead(200, {
      'content-type': `${NDJSON}; charset=utf-8`,
      'cache-control': 'no-cache, no-store, no-transform',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  next(video: stream.Video): void {
    this.frames.offer(video);
  }

  end(): void {
    this.frames.flush();
    endStream(this.res);
  }

  fail(error: ApiErrorBody): void {
    this.frames.flush();
    this.write(Buffer.from(`${JSON.stringify({ error })}\n`));
    endStream(this.res);
  }

  release(): void {
    // Holds no timer: LatestWins' 'drain' listener goes with the response.
  }

  private write(line: Buffer): boolean {
    if (this.res.writableEnded || this.res.destroyed) return false;
    return this.res.write(line);
  }
}
