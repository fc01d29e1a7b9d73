import type { AVPixelFormat } from 'node-av/constants';
import { newFrameBuffer, type FrameTarget } from '../frame-target.js';
import type { PixelOrder } from '../synthetic/pitch-renderer.js';
import { readAhead } from './read-ahead.js';
import { DecodeError, type VideoDecoder, type VideoFile } from './video-decoder.js';

type Lib = typeof import('node-av/lib');
type Constants = typeof import('node-av/constants');

/**
 * node-av's libav* bindings (FFmpeg built into a registry package), imported
 * on first use: they add ~40 MB to the process, which a service that never
 * plays a file should not pay. Rejects where the package has no binary for
 * this platform.
 */
export async function loadNodeAvDecoder(): Promise<VideoDecoder> {
  const [lib, constants] = await Promise.all([import('node-av/lib'), import('node-av/constants')]);
  return (file, order, signal, target) =>
    readAhead(nodeAvFrames(lib, constants, file, order, signal, target));
}

/**
 * Decodes `file` in this process: libavcodec decodes and swscale converts
 * each frame into one frame of FFmpeg's, copied once into the buffer
 * `target` gives; no child process or pipe. The heavy steps run on libuv's
 * thread pool, so the event loop only moves finished frames. Pulled, one
 * frame ahead (readAhead): the next frame decodes while this one is sent, and
 * no further. The bytes are those of `ffmpeg -f rawvideo -pix_fmt bgr24`
 * (the e2e tests compare them). One decoding thread per file: the CPU a
 * frame costs stays lowest, and concurrent watches use the cores.
 */
async function* nodeAvFrames(
  av: Lib,
  { AVERROR_EAGAIN, AVERROR_EOF, AVERROR_INVALIDDATA, AVMEDIA_TYPE_VIDEO, ...c }: Constants,
  { file, width, height, rotation }: VideoFile,
  order: PixelOrder,
  signal: AbortSignal,
  target: FrameTarget = newFrameBuffer,
): AsyncGenerator<Buffer> {
  // Its frames would come as stored, not turned to the size probed (VideoDecoders sends these to ffmpeg).
  if (rotation) throw new DecodeError(`a video rotated ${rotation}° needs the ffmpeg decoder`);
  const check = (code: number, what: string) => {
    if (code < 0) throw new DecodeError(`${what}: ${av.FFmpegError.strerror(code)}`);
  };
  const frameBytes = width * height * 3;
  const pixels = order === 'bgr' ? c.AV_PIX_FMT_BGR24 : c.AV_PIX_FMT_RGB24;
  const input = new av.FormatContext();
  const decoder = new av.CodecContext();
  const scaler = new av.SoftwareScaleContext();
  const packet = new av.Packet();
  const frame = new av.Frame();
  const converted = new av.Frame();
  packet.alloc();
  frame.alloc();
  converted.alloc();
  let opened = false;
  try {
    check(await input.openInput(file), 'opening the video'); // its path stays out of answers
    opened = true;
    check(await input.findStreamInfo(), 'reading stream info');
    const index = input.findBestStream(AVMEDIA_TYPE_VIDEO);
    check(index, 'finding the video stream');
    const params = input.streams[index].codecpar;
    const codec = av.Codec.findDecoder(params.codecId);
    if (!codec) throw new DecodeError(`no decoder for codec ${params.codecId}`);
    decoder.allocContext3(codec);
    check(decoder.parametersToContext(params), 'setting up the decoder');
    decoder.threadCount = 1;
    check(await decoder.open2(codec), 'opening the decoder');
    const copyOut = convertedFrameCopier(converted, width, height, pixels);

    // A stream may change size midway: each size gets its converter, to the size probed.
    let scaling = '';
    let flushed = false;
    while (!signal.aborted) {
      const got = await decoder.receiveFrame(frame);
      if (got >= 0) {
        const from = `${frame.width}x${frame.height}/${frame.format}`;
        if (from !== scaling) {
          scaler.freeContext();
          const format = frame.format as AVPixelFormat;
          scaler.getContext(
            frame.width,
            frame.height,
            format,
            width,
            height,
            pixels,
            c.SWS_BICUBIC,
          );
          scaling = from;
        }
        check(await scaler.scaleFrame(converted, frame), 'converting a frame');
        frame.unref();
        yield copyOut(target(frameBytes));
      } else if (got === AVERROR_EOF) {
        return;
      } else if (got !== AVERROR_EAGAIN || flushed) {
        check(got, 'decoding');
        return;
      } else {
        // The decoder wants more input.
        const read = await input.readFrame(packet);
        if (read === AVERROR_EOF) {
          check(await decoder.sendPacket(null), 'flushing the decoder');
          flushed = true;
        } else {
          check(read, 'reading');
          const sent = packet.streamIndex === index ? await decoder.sendPacket(packet) : 0;
          packet.unref();
          // A damaged packet is skipped, as the ffmpeg CLI does: the next keyframe recovers.
          if (sent !== AVERROR_INVALIDDATA) check(sent, 'decoding');
        }
      }
    }
  } finally {
    converted.free();
    frame.free();
    packet.free();
    scaler.freeContext();
    decoder.freeContext();
    if (opened) await input.closeInput();
  }
}

/**
 * Sets up `converted` as the one frame every decoded frame is converted into,
 * and returns what copies its pixels into a frame buffer. Its memory is
 * viewed from JavaScript once: a view per frame (of a decoded frame's planes,
 * say) is an external buffer V8 counts, and hundreds of them a second set off
 * a full mark-compact every few dozen frames.
 */
function convertedFrameCopier(
  converted: InstanceType<Lib['Frame']>,
  width: number,
  height: number,
  pixels: AVPixelFormat,
): (out: Buffer) => Buffer {
  converted.width = width;
  converted.height = height;
  converted.format = pixels;
  const allocated = converted.allocBuffer();
  if (allocated < 0) throw new DecodeError(`allocating a ${width}x${height} frame: ${allocated}`);
  const view = converted.data![0];
  const rowBytes = width * 3;
  const stride = converted.linesize[0];
  return (out) => {
    if (stride === rowBytes) {
      view.copy(out, 0, 0, rowBytes * height);
    } else {
      // Rows padded to FFmpeg's alignment.
      for (let y = 0; y < height; y++)
        view.copy(out, y * rowBytes, y * stride, y * stride + rowBytes);
    }
    return out;
  };
}
