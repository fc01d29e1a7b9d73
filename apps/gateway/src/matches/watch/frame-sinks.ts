import type { ServerResponse } from 'node:http';
import { stream } from '#proto';
import type { ApiErrorBody, FrameEvent } from '../../openapi/models.js';
import { LatestWins, type Demand } from '../../http-streaming/backpressure.js';
import { SseWriter } from '../../http-streaming/sse-writer.js';
import type { StreamSink } from '../../http-streaming/stream-relay.js';
import { MjpegWriter } from './mjpeg-writer.js';

/**
 * Where a match's frames go: one HTTP response in one format (a
 * StreamRelay sink). A slow reader gets the latest frame, not all of them;
 * `frames` says whether it would take one now (a shared live Watch is read
 * as fast as its fastest viewer).
 */
export interface FrameSink extends StreamSink<stream.Video> {
  readonly frames: Demand;
}

/** A frame as the SSE `frame` event's JSON (and an NDJSON `result`) carries it. */
export function toFrameEvent(video: stream.Video): FrameEvent {
  const data = Buffer.from(video.data.buffer, video.data.byteOffset, video.data.byteLength);
  return {
    seq: video.seq,
    ptsMs: video.ptsMs,
    encoding: stream.Encoding[video.encoding] ?? String(video.encoding),
    shape: video.dataShape,
    data: data.toString('base64'),
  };
}

const framedEvents = new WeakMap<stream.Video, Buffer>();

/**
 * The SSE `frame` event of `video`, base64-encoded and framed once however
 * many viewers of a shared live match get it (SharedWatches).
 */
export function sseFrameEvent(video: stream.Video): Buffer {
  let framed = framedEvents.get(video);
  if (!framed) {
    framed = SseWriter.event('frame', toFrameEvent(video));
    framedEvents.set(video, framed);
  }
  return framed;
}

/** `event: frame` per frame, `event: end` at the end, `event: error` on failure. */
export class SseFrameSink implements FrameSink {
  readonly frames: LatestWins<stream.Video>;

  constructor(private readonly sse: SseWriter) {
    // Base64 and JSON only for frames that are actually written.
    this.frames = new LatestWins(sse.res, (video) => this.sse.write(sseFrameEvent(video)));
  }

  open(): void {
    this.sse.open();
  }

  next(video: stream.Video): void {
    this.frames.offer(video);
  }

  end(): void {
    this.frames.flush();
    this.sse.end('end', {});
  }

  fail(error: ApiErrorBody): void {
    this.frames.flush();
    this.sse.end('error', error);
  }

  release(): void {
    this.sse.release();
  }
}

/** One JPEG part per frame; ends with the closing delimiter, or is cut off on failure. */
export class MjpegFrameSink implements FrameSink {
  private readonly mjpeg: MjpegWriter;
  readonly frames: LatestWins<stream.Video>;

  constructor(res: ServerResponse) {
    this.mjpeg = new MjpegWriter(res);
    this.frames = new LatestWins(res, (video) => this.mjpeg.part(video.data));
  }

  open(): void {
    this.mjpeg.open();
  }

  next(video: stream.Video): void {
    this.frames.offer(video);
  }

  end(): void {
    this.frames.flush();
    this.mjpeg.end();
  }

  fail(): void {
    this.mjpeg.destroy();
  }

  release(): void {
    // Holds no timer: LatestWins' 'drain' listener goes with the response.
  }
}
