import type { ServerResponse } from 'node:http';
import { stream } from '#proto';
import type { ApiErrorBody, FrameEvent } from '../../openapi/models.js';
import { LatestWins } from '../../http-streaming/backpressure.js';
import { SseWriter } from '../../http-streaming/sse-writer.js';
import type { StreamSink } from '../../http-streaming/stream-relay.js';
import { MjpegWriter } from './mjpeg-writer.js';

/**
 * Where a match's frames go: one HTTP response in one format (a
 * StreamRelay sink). A slow reader gets the latest frame, not all of them.
 */
export type FrameSink = StreamSink<stream.Video>;

/** A frame as the SSE `frame` event's JSON (and an NDJSON `result`) carries it. */
export function toFrameEvent(video: stream.Video): FrameEvent {
  return { ...frameEventFields(video), data: frameBytes(video).toString('base64') };
}

/** The frame event's fields but `data`, in the order JSON.stringify writes them. */
function frameEventFields(video: stream.Video): Omit<FrameEvent, 'data'> {
  return {
    seq: video.seq,
    ptsMs: video.ptsMs,
    encoding: stream.Encoding[video.encoding] ?? String(video.encoding),
    shape: video.dataShape,
  };
}

function frameBytes(video: stream.Video): Buffer {
  return Buffer.from(video.data.buffer, video.data.byteOffset, video.data.byteLength);
}

/**
 * `before` + the frame event's JSON + `after`, in one buffer. The same bytes
 * as the template of JSON.stringify(toFrameEvent(video)), but the base64 is
 * the only string made: it is written straight into the buffer, where JSON
 * and a template would each copy a 0.9 MB string per 360p frame into the old
 * generation (a raw SSE viewer: gateway CPU 20 -> 12 %, docs/benchmarks.md).
 */
export function frameEventBytes(video: stream.Video, before: string, after: string): Buffer {
  const fields = JSON.stringify(frameEventFields(video));
  // Base64 needs no JSON escaping: the string's content is the base64 as it is.
  const head = `${before}${fields.slice(0, -1)},"data":"`;
  const tail = `"}${after}`;
  const base64 = frameBytes(video).toString('base64');
  const headBytes = Buffer.byteLength(head);
  const bytes = Buffer.allocUnsafe(headBytes + base64.length + Buffer.byteLength(tail));
  bytes.write(head, 0);
  bytes.write(base64, headBytes, 'latin1');
  bytes.write(tail, headBytes + base64.length);
  return bytes;
}

const framedEvents = new WeakMap<stream.Video, Buffer>();

/**
 * The SSE `frame` event of `video` (as `SseWriter.event` frames it), made
 * once however many viewers of a shared live match get it (SharedWatches).
 */
export function sseFrameEvent(video: stream.Video): Buffer {
  let framed = framedEvents.get(video);
  if (!framed) {
    framed = frameEventBytes(video, 'event: frame\ndata: ', '\n\n');
    framedEvents.set(video, framed);
  }
  return framed;
}

/** `event: frame` per frame, `event: end` at the end, `event: error` on failure. */
export class SseFrameSink implements FrameSink {
  private readonly frames: LatestWins<stream.Video>;

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
  private readonly frames: LatestWins<stream.Video>;

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
