/**
 * `Watch` of a 360p mp4, raw frames at full speed: soccer-service vs a plain
 * grpc-js server vs the talk's Python/OpenCV server, and ffmpeg decoding the
 * same file alone (the floor no server can beat).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import type { BenchContext } from './support/context.js';
import { WATCH_CLIENT_WINDOW, watchAll, type WatchRun } from './support/grpc-clients.js';
import type { TestVideo } from './support/media.js';
import { TALK_DIR } from './support/paths.js';
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
const PIPE = 'ffmpeg → pipe → Node, no gRPC';

interface Sample extends WatchRun {
  /** % of one core: the server process (or ffmpeg, or the pipe reader). */
  cpu: number;
  cpuMsPerFrame: number;
  /** CPU ms per frame of the counting client (this process); NaN where there is none. */
  clientMsPerFrame: number;
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
 * ffmpeg decoding to raw BGR into /dev/null, as the servers have it decode;
 * run under sh for `times`, which gives ffmpeg's CPU time (its children's).
 */
async function ffmpegAlone(ffmpeg: string, video: TestVideo, frames: number): Promise<Sample> {
  const started = performance.now();
  const { stdout } = await run('sh', [
    '-c',
    '"$0" "$@" > /dev/null && times',
    ffmpeg,
    ...DECODE,
    video.file,
    ...TO_BGR,
  ]);
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
  };
}

/**
 * ffmpeg's frames read from its stdout pipe by Node (this process) and cut
 * into frames, as the servers do, with no gRPC: what the pipe alone costs.
 */
async function ffmpegPipe(ffmpeg: string, video: TestVideo, frameBytes: number): Promise<Sample> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
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
  };
}

export async function watch(
  ctx: BenchContext,
  tools: Tools,
  video: TestVideo,
  stubsDir: string | undefined,
): Promise<Section> {
  const notes: string[] = [];
  const servers: Server[] = [];
  try {
    servers.push(await startApp(ctx, 'watch', 'soccer-service', { MEDIA_DIR: video.dir }, NEST));
    servers.push(await startPlainServer(ctx, 'watch', { MEDIA_DIR: video.dir }));
    if (stubsDir) {
      servers.push(
        await startPythonServer(`${TALK_DIR}soccer_server.py`, [stubsDir, video.dir], PYTHON),
      );
    } else {
      notes.push(
        "The talk's Python/OpenCV server was skipped: python3-grpcio or python3-opencv missing.",
      );
    }
    const frames = await frameCount(tools.ffprobe!, video.file);
    const frameBytes = video.width * video.height * 3;
    const watcher = (s: Server, name: string, window?: number) => ({
      name,
      run: async (): Promise<Sample> => {
        const cpu = new CpuWindow([s.pid]);
        const client = process.cpuUsage();
        const result = await watchAll(`127.0.0.1:${s.port}`, video.id, frameBytes, { window });
        if (result.frames !== frames) {
          throw new Error(`${name} sent ${result.frames} frames of ${frames}`);
        }
        return {
          ...result,
          cpu: cpu.percent()[0],
          cpuMsPerFrame: (cpu.used()[0] * 1000) / result.frames,
          clientMsPerFrame: msPerFrame(process.cpuUsage(client), result.frames),
        };
      },
    });
    const contenders = [
      ...servers.map((s) => watcher(s, s.name)),
      // What a grpc-js client with its default 64 KiB window gets (the gateway is one).
      watcher(servers[0], NEST_SMALL_WINDOW, 0),
      { name: FFMPEG, run: () => ffmpegAlone(tools.ffmpeg!, video, frames) },
      { name: PIPE, run: () => ffmpegPipe(tools.ffmpeg!, video, frameBytes) },
    ];
    // Warm-up of each server (JIT, the probe cache): 100 frames, then cancelled.
    for (const s of servers)
      await watchAll(`127.0.0.1:${s.port}`, video.id, frameBytes, { limit: 100 });

    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ctx.rounds; round++) {
      for (const c of rotate(contenders, round)) {
        ctx.log(`watch, round ${round + 1}: ${c.name}`);
        samples.set(c.name, [...(samples.get(c.name) ?? []), await c.run()]);
      }
    }
    const of = (name: string) => samples.get(name) ?? [];
    const ratio = (name: string, ref: string) =>
      median(of(name).map((s, i) => s.fps / (of(ref)[i]?.fps ?? NaN)));
    const checks = [
      check(
        'watch-vs-ffmpeg',
        'Watch 360p raw: soccer-service ≥ 0.85× ffmpeg decoding alone',
        ratio(NEST, FFMPEG),
        '≥',
        0.85,
        '×',
      ),
    ];
    if (stubsDir) {
      checks.push(
        check(
          'watch-vs-python',
          "Watch 360p raw: soccer-service faster than the talk's Python/OpenCV",
          ratio(NEST, PYTHON),
          '>',
          1,
          '×',
        ),
      );
    }
    notes.push(
      `The match: ${video.seconds} s of 640x360 at 25 fps (${frames} frames), H.264 at ~1 Mbit/s ` +
        "(ffmpeg's testsrc2 with moving noise, so decoding costs what footage would). Each frame is " +
        `${frameBytes} bytes raw; a grpc-js client in the runner counts them and checks every size.`,
      'Watch is paced by the call: a frame is produced only when the call is writable (HTTP/2 flow ' +
        'control of the client), so the numbers include the transport, not just decoding. The client ' +
        `opens an ${WATCH_CLIENT_WINDOW / 1024 ** 2} MiB HTTP/2 window ('grpc-node.flow_control_window'), ` +
        "as C-core clients do by BDP probing; the 64 KiB row is grpc-js's default, which the gateway uses.",
      'CPU is that of one process, in % of one core and per frame: the server (the Node servers decode ' +
        'in an ffmpeg child, not counted; the Python server decodes in-process with OpenCV), ffmpeg ' +
        'itself for "ffmpeg alone", the reading Node process for the pipe row. The pipe row (no bar) ' +
        'shows what moving raw frames through a pipe into Node costs before any gRPC. "client ms/frame" ' +
        'is the counting grpc-js client (the runner): all of it shares the 2 cores with the server and ffmpeg.',
    );
    return {
      id: 'watch',
      title: 'Watch of a 360p mp4, raw frames',
      method:
        `Whole-file Watch (fps 0: as fast as the reader takes frames), ${ctx.rounds} round(s) after a ` +
        'warm-up, order rotated; medians.',
      columns: [
        'source',
        'frames/s',
        'MB/s',
        'CPU %',
        'CPU ms/frame',
        'client ms/frame',
        '× ffmpeg alone',
      ],
      rows: contenders.map((c) => {
        const fps = median(of(c.name).map((s) => s.fps));
        return [
          c.name,
          fmt(fps),
          fmt((fps * frameBytes) / 1e6),
          fmt(median(of(c.name).map((s) => s.cpu)), 0),
          fmt(median(of(c.name).map((s) => s.cpuMsPerFrame))),
          fmt(median(of(c.name).map((s) => s.clientMsPerFrame))),
          fmt(ratio(c.name, FFMPEG)),
        ];
      }),
      checks,
      notes,
    };
  } finally {
    await stopAll(...servers);
  }
}
