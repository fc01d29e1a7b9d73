/**
 * A decoder thread of soccer-service (a worker_threads Worker): decodes video
 * files with node-av's synchronous calls, one frame per request, straight
 * into the shared buffer the request names. A frame costs one message each
 * way; on libuv's pool each of its 4-6 steps was a round trip through the
 * main thread's event loop, which under load was busy sending, and it took
 * about twice the CPU (docs/performance-investigations.md).
 *
 * It imports only packages, and types: under vitest it runs as this .ts
 * source, whose types Node strips itself.
 */
import { parentPort } from 'node:worker_threads';
import * as av from 'node-av/lib';
import * as c from 'node-av/constants';
import type { AVPixelFormat } from 'node-av/constants';
import type { PixelOrder } from '../synthetic/pitch-renderer.js';
import type { VideoFile } from './video-decoder.js';

/** What the main thread asks; `id` names one decoding of a file. */
export type DecoderRequest =
  | { op: 'open'; id: number; video: VideoFile; order: PixelOrder }
  | { op: 'frame'; id: number; into: Uint8Array }
  | { op: 'close'; id: number };

/**
 * The answer to each request, in the order they came. `frame`: whether a
 * frame was written (false at the end of the file).
 */
export interface DecoderReply {
  id: number;
  frame?: boolean;
  error?: string;
}

/** What the thread posts: 'ready' once node-av has loaded, then the replies. */
export type ThreadMessage = 'ready' | DecoderReply;

/**
 * One file, decoded by libavcodec on this thread and converted by swscale
 * into each buffer asked for. The bytes are those of `ffmpeg -f rawvideo
 * -pix_fmt bgr24` (the e2e tests compare them). libavcodec gets no threads
 * of its own: the CPU a frame costs stays lowest, and concurrent watches
 * use the cores.
 */
class FileFrames {
  private readonly input = new av.FormatContext();
  private readonly decoder = new av.CodecContext();
  private readonly scaler = new av.SoftwareScaleContext();
  private readonly packet = new av.Packet();
  private readonly frame = new av.Frame();
  private readonly converted = new av.Frame();
  /** The pixels of `converted`, viewed once: a view per frame is an external buffer V8 counts. */
  private convertedPlanes?: Buffer[];
  private readonly width: number;
  private readonly height: number;
  private readonly pixels: AVPixelFormat;
  private opened = false;
  private stream = -1;
  private scaling = '';
  private flushed = false;

  constructor({ file, width, height }: VideoFile, order: PixelOrder) {
    this.width = width;
    this.height = height;
    this.pixels = order === 'bgr' ? c.AV_PIX_FMT_BGR24 : c.AV_PIX_FMT_RGB24;
    this.packet.alloc();
    this.frame.alloc();
    this.converted.alloc();
    try {
      this.open(file);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Decodes the next frame into `out`; false once the file has no more. */
  next(out: Uint8Array): boolean {
    const { decoder, frame } = this;
    for (;;) {
      const got = decoder.receiveFrameSync(frame);
      if (got >= 0) {
        this.convert(out);
        return true;
      }
      if (got === c.AVERROR_EOF) return false;
      if (got !== c.AVERROR_EAGAIN || this.flushed) {
        check(got, 'decoding');
        return false;
      }
      this.feed(); // the decoder wants more input
    }
  }

  close(): void {
    this.frame.free();
    this.converted.free();
    this.packet.free();
    this.scaler.freeContext();
    this.decoder.freeContext();
    if (this.opened) this.input.closeInputSync();
    this.opened = false;
  }

  private open(file: string): void {
    const { input, decoder, converted } = this;
    check(input.openInputSync(file), 'opening the video'); // its path stays out of answers
    this.opened = true;
    check(input.findStreamInfoSync(), 'reading stream info');
    this.stream = input.findBestStream(c.AVMEDIA_TYPE_VIDEO);
    check(this.stream, 'finding the video stream');
    const params = input.streams[this.stream].codecpar;
    const codec = av.Codec.findDecoder(params.codecId);
    if (!codec) throw new Error(`no decoder for codec ${params.codecId}`);
    decoder.allocContext3(codec);
    check(decoder.parametersToContext(params), 'setting up the decoder');
    decoder.threadCount = 1;
    check(decoder.open2Sync(codec), 'opening the decoder');
    converted.width = this.width;
    converted.height = this.height;
    converted.format = this.pixels;
    check(converted.allocBuffer(), `allocating a ${this.width}x${this.height} frame`);
    this.convertedPlanes = [converted.data![0]];
  }

  /** Reads the next packet of the video stream into the decoder, or flushes it at the end. */
  private feed(): void {
    const { input, decoder, packet } = this;
    const read = input.readFrameSync(packet);
    if (read === c.AVERROR_EOF) {
      check(decoder.sendPacketSync(null), 'flushing the decoder');
      this.flushed = true;
      return;
    }
    check(read, 'reading');
    const sent = packet.streamIndex === this.stream ? decoder.sendPacketSync(packet) : 0;
    packet.unref();
    // A damaged packet is skipped, as the ffmpeg CLI does: the next keyframe recovers.
    if (sent !== c.AVERROR_INVALIDDATA) check(sent, 'decoding');
  }

  /** Converts the decoded frame to the size probed, into `out`. */
  private convert(out: Uint8Array): void {
    const { frame, converted, scaler, width, height } = this;
    // A stream may change size midway: each size gets its converter.
    const from = `${frame.width}x${frame.height}/${frame.format}`;
    if (from !== this.scaling) {
      scaler.freeContext();
      const format = frame.format as AVPixelFormat;
      scaler.getContext(
        frame.width,
        frame.height,
        format,
        width,
        height,
        this.pixels,
        c.SWS_BICUBIC,
      );
      this.scaling = from;
    }
    // Into a frame laid out as the ffmpeg CLI's (swscale's bytes depend on the
    // rows' alignment), then copied by FFmpeg, without its padding: a copy
    // into shared memory from JavaScript goes through V8's byte-safe
    // memmove, 5x slower.
    check(scaler.scaleFrameSync(converted, frame), 'converting a frame');
    frame.unref();
    const into = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    const bytes = av.avImageCopyToBuffer(
      into,
      into.length,
      this.convertedPlanes!,
      converted.linesize,
      this.pixels,
      width,
      height,
      1,
    );
    check(bytes, 'copying a frame');
  }
}

function check(code: number, what: string): void {
  if (code < 0) throw new Error(`${what}: ${av.FFmpegError.strerror(code)}`);
}

function serve(port: NonNullable<typeof parentPort>): void {
  const files = new Map<number, FileFrames>();
  port.on('message', (request: DecoderRequest) => {
    const { id } = request;
    let reply: DecoderReply;
    try {
      if (request.op === 'open') {
        files.set(id, new FileFrames(request.video, request.order));
        reply = { id };
      } else if (request.op === 'frame') {
        const file = files.get(id);
        if (!file) throw new Error('the file is not open');
        reply = { id, frame: file.next(request.into) };
      } else {
        files.get(id)?.close();
        files.delete(id);
        reply = { id };
      }
    } catch (err) {
      reply = { id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
  port.postMessage('ready' satisfies ThreadMessage);
}

if (parentPort) serve(parentPort);
