/**
 * `Watch` of an mp4 at full speed: soccer-service vs a plain grpc-js server
 * vs the talk's Python/OpenCV server, raw frames of 360p (the bars), 720p and
 * 1080p, JPEG at 360p; and ffmpeg, and the Python server's OpenCV loop,
 * decoding the 360p file alone.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import type { BenchContext } from './support/context.js';
import { WATCH_CLIENT_WINDOW, watchAll, type WatchRun } from './support/grpc-clients.js';
import { VIDEO_SIZES, type TestVideo, type VideoSize } from './support/media.js';
import { REFERENCE_DIR, TALK_DIR } from './support/paths.js';
import { CpuWindow } from './support/proc-stats.js';
import { check, type Section } from './support/results.js';
import {
  startApp,
  startPlainServer,
  startPythonServer,
  stopAll,
  type Server,
} from './support/servers.js';
import { fmt, median, rotate } from './support/stats.js';
import type { Tools } from './support/tools.js';

const run = promisify(execFile);

const NEST = 'soccer-service';
const PYTHON = 'talk Python/OpenCV';
const FFMPEG = 'ffmpeg alone';
const NEST_SMALL_WINDOW = 'soccer-service, client with a 64 KiB window';
const NEST_JPEG = 'soccer-service, JPEG';
const NEST_FFMPEG = 'soccer-service, VIDEO_DECODER=ffmpeg';
const PIPE = 'ffmpeg → pipe → Node, no gRPC';
const OPENCV = "the Python server's OpenCV loop alone, no gRPC";

/** Frames of 720p and 1080p are over gRPC's default 4 MiB message limit: raised for the run. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

interface Sample extends WatchRun {
  /** % of one core: the server process and the decoder it ran (or ffmpeg, or the pipe reader). */
  cpu: number;
  /** CPU ms per frame of the server, its decoder included (an ffmpeg child, or in-process). */
  cpuMsPerFrame: number;
  /** CPU ms per frame of the counting client (this process); NaN where there is none. */
  clientMsPerFrame: number;
  /** Page faults per frame of the server and its decoder: new memory touched; NaN where not counted. */
  faultsPerFrame: number;
}

/** Frames in the file's video stream, counted from its packets (no decoding). */
async function frameCount(ffprobe: string, file: string): Promise<number> {
  const { stdout } = await run(ffprobe, [
    ...['-v', 'error', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file],
  ]);
  return Number(stdout.trim());
}

function msPerFrame({ user, system }: NodeJS.CpuUsage, frames: number): number {
  return (user + system) / 1000 / frames;
}

const DECODE = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i'];
const TO_BGR = ['-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1'];

/**
 * ffmpeg decoding to raw BGR into /dev/null, as the servers have it decode.
 */
function ffmpegAlone(ffmpeg: string, video: TestVideo, frames: number): Promise<Sample> {
  return timedAlone([ffmpeg, ...DECODE, video.file, ...TO_BGR], frames);
}

/**
 * The talk's Python server's Watch loop without gRPC (OpenCV reads each
 * frame and takes its bytes): the decoding part of that server's CPU per
 * frame; the rest of it is its transport.
 */
async function opencvAlone(video: TestVideo, frames: number): Promise<Sample> {
  const sample = await timedAlone(
    ['/usr/bin/python3', `${REFERENCE_DIR}opencv_read.py`, video.file],
    frames,
  );
  if (Number(sample.output.trim()) !== frames) {
    throw new Error(`${OPENCV} read ${sample.output.trim()} frames of ${frames}`);
  }
  return sample;
}

/**
 * Runs `command` to its end under sh for `times`, which gives the command's
 * CPU time (the shell's children's). Its stdout goes to /dev/null; its
 * stderr comes back as `output`.
 */
async function timedAlone(command: string[], frames: number): Promise<Sample & { output: string }> {
  const started = performance.now();
  const { stdout, stderr } = await run('sh', ['-c', '"$0" "$@" > /dev/null && times', ...command]);
  const seconds = (performance.now() - started) / 1000;
  // `times`: the shell's user/system times, then its children's: "0m0.710000s 0m0.070000s".
  const children = stdout.trim().split('\n').at(-1) ?? '';
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  return {
    frames,
    seconds,
    fps: frames / seconds,
    cpu: (cpu / seconds) * 100,
    cpuMsPerFrame: (cpu * 1000) / frames,
    clientMsPerFrame: NaN,
    faultsPerFrame: NaN,
    output: stderr,
  };
}

/**
 * ffmpeg's frames read from its stdout pipe by Node (this process) as a
 * stream and cut into frames, as the plain grpc-js server does, with no
 * gRPC: what the pipe alone costs.
 */
async function ffmpegPipe(ffmpeg: string, video: TestVideo, frameBytes: number): Promise<Sample> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const faultsBefore = ownPageFaults();
  const child = spawn(ffmpeg, [...DECODE, video.file, ...TO_BGR], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let frames = 0;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.length;) {
      const n = chunk.copy(frame, filled, offset, offset + frameBytes - filled);
      filled += n;
      offset += n;
      if (filled === frameBytes) {
        frames++;
        frame = Buffer.allocUnsafe(frameBytes);
        filled = 0;
      }
    }
  }
  if (child.exitCode === null) await once(child, 'exit');
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpuBefore);
  const cpu = (user + system) / 1e6;
  return {
    frames,
    seconds,
    fps: frames / seconds,
    cpu: (cpu / seconds) * 100,
    cpuMsPerFrame: (cpu * 1000) / frames,
    clientMsPerFrame: NaN,
    faultsPerFrame: (ownPageFaults() - faultsBefore) / frames,
  };
}

function ownPageFaults(): number {
  const { minorPageFault, majorPageFault } = process.resourceUsage();
  return minorPageFault + majorPageFault;
}

export interface WatchVideos {
  /** The 360p match: the bars. */
  main: TestVideo;
  /** Larger sizes of the same pattern (full runs only). */
  larger: TestVideo[];
}

export async function watch(
  ctx: BenchContext,
  tools: Tools,
  videos: WatchVideos,
  stubsDir: string | undefined,
): Promise<Section> {
  const notes: string[] = [];
  const servers: Server[] = [];
  let nestFfmpeg: Server | undefined;
  const { main } = videos;
  // Every video is in the same directory: each server serves all of them.
  const mediaDir = main.dir;
  try {
    const limit = { GRPC_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) };
    servers.push(
      await startApp(ctx, 'watch', 'soccer-service', { MEDIA_DIR: mediaDir, ...limit }, NEST),
    );
    servers.push(
      await startPlainServer(ctx, 'watch', { MEDIA_DIR: mediaDir }, undefined, 'soccer-service'),
    );
    // The same service decoding in ffmpeg children, for the 360p rows only.
    nestFfmpeg = await startApp(
      ctx,
      'watch',
      'soccer-service',
      { MEDIA_DIR: mediaDir, ...limit, VIDEO_DECODER: 'ffmpeg' },
      NEST_FFMPEG,
    );
    if (stubsDir) {
      servers.push(
        await startPythonServer(`${TALK_DIR}soccer_server.py`, [stubsDir, mediaDir], PYTHON),
      );
    } else {
      notes.push(
        "The talk's Python/OpenCV server was skipped: python3-grpcio or python3-opencv missing.",
      );
    }
    const [nest] = servers;
    const mainServers = [...servers, nestFfmpeg];
    const watcher = (
      s: Server,
      name: string,
      video: TestVideo,
      frames: number,
      options: { window?: number; jpeg?: boolean } = {},
    ) => ({
      name,
      run: async (): Promise<Sample> => {
        const frameBytes = video.width * video.height * 3;
        // The server's CPU and faults, its reaped children's too: an ffmpeg decoder is part of its work.
        const cpu = new CpuWindow([s.pid], true);
        const client = process.cpuUsage();
        const result = await watchAll(`127.0.0.1:${s.port}`, video.id, frameBytes, options);
        if (result.frames !== frames) {
          throw new Error(`${name} sent ${result.frames} frames of ${frames}`);
        }
        return {
          ...result,
          cpu: cpu.percent()[0],
          cpuMsPerFrame: (cpu.used()[0] * 1000) / result.frames,
          clientMsPerFrame: msPerFrame(process.cpuUsage(client), result.frames),
          faultsPerFrame: cpu.faults()[0] / result.frames,
        };
      },
    });

    /** One table row per contender of `video`, measured in rotated rounds. */
    const measure = async (
      label: string,
      contenders: ReturnType<typeof watcher>[] | { name: string; run: () => Promise<Sample> }[],
    ) => {
      const samples = new Map<string, Sample[]>();
      for (let round = 0; round < ctx.rounds; round++) {
        for (const c of rotate(contenders, round)) {
          ctx.log(`watch ${label}, round ${round + 1}: ${c.name}`);
          samples.set(c.name, [...(samples.get(c.name) ?? []), await c.run()]);
        }
      }
      return samples;
    };

    const frames = await frameCount(tools.ffprobe!, main.file);
    const frameBytes = main.width * main.height * 3;
    // Warm-up of each server (JIT, the probe cache): 100 frames, then cancelled.
    for (const s of mainServers)
      await watchAll(`127.0.0.1:${s.port}`, main.id, frameBytes, { limit: 100 });
    const mainContenders = [
      ...mainServers.map((s) => watcher(s, s.name, main, frames)),
      // What a grpc-js client with its default 64 KiB window gets (the gateway is one).
      watcher(nest, NEST_SMALL_WINDOW, main, frames, { window: 0 }),
      watcher(nest, NEST_JPEG, main, frames, { jpeg: true }),
      { name: FFMPEG, run: () => ffmpegAlone(tools.ffmpeg!, main, frames) },
      { name: PIPE, run: () => ffmpegPipe(tools.ffmpeg!, main, frameBytes) },
      ...(stubsDir ? [{ name: OPENCV, run: () => opencvAlone(main, frames) }] : []),
    ];
    const bySize = new Map<string, Map<string, Sample[]>>([
      ['360p', await measure('360p', mainContenders)],
    ]);
    for (const video of videos.larger) {
      const size = `${video.height}p`;
      const n = await frameCount(tools.ffprobe!, video.file);
      bySize.set(
        size,
        await measure(
          size,
          servers.map((s) => watcher(s, s.name, video, n)),
        ),
      );
    }

    const of = (size: string, name: string) => bySize.get(size)?.get(name) ?? [];
    /** Median over rounds of `name`'s `key` over `ref`'s in the same round. */
    const ratio = (size: string, name: string, ref: string, key: 'fps' | 'cpuMsPerFrame' = 'fps') =>
      median(of(size, name).map((s, i) => s[key] / (of(size, ref)[i]?.[key] ?? NaN)));
    const checks = [];
    if (stubsDir) {
      checks.push(
        check(
          'watch-vs-python',
          "Watch 360p raw: soccer-service ≥ 1.3× the talk's Python/OpenCV server",
          ratio('360p', NEST, PYTHON),
          '≥',
          1.3,
          '×',
        ),
        check(
          'watch-cpu-vs-python',
          "Watch 360p raw: server CPU per frame, decoder included, ≤ the Python server's",
          ratio('360p', NEST, PYTHON, 'cpuMsPerFrame'),
          '≤',
          1,
          '×',
        ),
      );
    }
    const rows: string[][] = [];
    for (const [size, samples] of bySize) {
      const { width, height } = VIDEO_SIZES[size as VideoSize];
      for (const name of samples.keys()) {
        const runs = of(size, name);
        const fps = median(runs.map((s) => s.fps));
        const bytes = name === NEST_JPEG ? NaN : fps * width * height * 3;
        rows.push([
          size,
          name,
          fmt(fps),
          fmt(bytes / 1e6),
          fmt(median(runs.map((s) => s.cpu)), 0),
          fmt(median(runs.map((s) => s.cpuMsPerFrame))),
          fmt(median(runs.map((s) => s.faultsPerFrame)), 0),
          fmt(median(runs.map((s) => s.clientMsPerFrame))),
          stubsDir && ![FFMPEG, PIPE, OPENCV].includes(name) ? fmt(ratio(size, name, PYTHON)) : '–',
          size === '360p' ? fmt(ratio(size, name, FFMPEG)) : '–',
        ]);
      }
    }
    notes.push(
      `The matches: ${main.seconds} s of 640x360 at 25 fps (${frames} frames), H.264 at ~1 Mbit/s ` +
        "(ffmpeg's testsrc2 with moving noise, so decoding costs what footage would); " +
        (videos.larger.length
          ? `${videos.larger.map((v) => `${v.seconds} s of ${v.width}x${v.height} at ~${VIDEO_SIZES[`${v.height}p` as VideoSize].mbps} Mbit/s`).join(', ')}. `
          : 'no larger sizes in a quick run. ') +
        'Raw frames are height × width × 3 bytes (691 200 at 360p, 6 220 800 at 1080p); a grpc-js ' +
        `client in the runner counts them and checks every size. GRPC_MAX_MESSAGE_BYTES=${MAX_MESSAGE_BYTES} ` +
        'for soccer-service (its default, 4 MiB, refuses 720p and 1080p frames); grpc-js and grpcio servers send any size.',
      'Watch is paced by the call: a frame is produced only when the call is writable (HTTP/2 flow ' +
        'control of the client), so the numbers include the transport, not just decoding. The client ' +
        `opens an ${WATCH_CLIENT_WINDOW / 1024 ** 2} MiB HTTP/2 window ('grpc-node.flow_control_window'), ` +
        "as C-core clients do by BDP probing; the 64 KiB row is grpc-js's default, which the gateway uses.",
      'soccer-service decodes in process by default (VIDEO_DECODER=node-av: libavcodec and swscale ' +
        'with synchronous calls on a decoder thread of its own, a worker_threads Worker, two frames ahead ' +
        'of the call, each written once into the shared memory of the message that carries it); its ' +
        'VIDEO_DECODER=ffmpeg row ' +
        'decodes in an ffmpeg child per watch, read through a Unix socket (SocketFrames).',
      'CPU is that of one process and its decoder, in % of one core and per frame: the server with its ' +
        'in-process decoder (soccer-service: node-av; the Python server: OpenCV) or the ffmpeg children ' +
        'it reaped (the plain grpc-js server, soccer-service with VIDEO_DECODER=ffmpeg); ffmpeg itself for ' +
        '"ffmpeg alone"; the reading Node process for the pipe row (no bar: what moving raw frames ' +
        'through a pipe into Node as a stream costs before any gRPC, a new buffer per read, as the ' +
        'plain grpc-js server reads them); the Python process for the OpenCV row (no bar: ' +
        "the talk's Watch loop, VideoCapture.read() and tobytes() per frame, with no gRPC: what " +
        "decoding takes of the Python server's CPU per frame; the rest is its transport, protobuf " +
        'and grpcio). "client ms/frame" is the counting grpc-js ' +
        'client (the runner): all of it shares the 2 cores.',
      "The talk's server has no JPEG mode: the JPEG row's ratio is against its raw frames, as a viewer " +
        'choosing between the two would compare them.',
      '"page faults/frame" counts those of the server and the decoders it reaped: each one the first ' +
        'write to a 4 KiB page of new memory, at the CPU cost in the machine table ("page fault"). ' +
        "The talk's Python server writes each frame into new memory about twice (a 360p frame is 169 " +
        'pages) and the plain grpc-js server reads each frame into a new buffer, where soccer-service ' +
        'writes frames into memory it recycles. So those two references, the Python server most, are as ' +
        "fast as the machine's page faults: the Python server ran at 538 frames/s and 1.78 CPU ms/frame " +
        'on 2026-11-25, 410 and 2.51 on 2026-12-06 at 10:21, 140-176 and 6.1-6.6 that afternoon on a ' +
        'host where a page fault took 11-19 µs; other work on the machine slows it too (bench/README.md). ' +
        'Compare runs with their machine tables.',
    );
    return {
      id: 'watch',
      title: 'Watch of an mp4: raw frames at 360p, 720p and 1080p, JPEG at 360p',
      method:
        `Whole-file Watch (fps 0: as fast as the reader takes frames), ${ctx.rounds} round(s) after a ` +
        'warm-up, order rotated; medians.',
      columns: [
        'size',
        'source',
        'frames/s',
        'MB/s',
        'CPU %',
        'CPU ms/frame',
        'page faults/frame',
        'client ms/frame',
        '× Python',
        '× ffmpeg alone',
      ],
      rows,
      checks,
      notes,
    };
  } finally {
    await stopAll(...servers, nestFfmpeg);
  }
}
