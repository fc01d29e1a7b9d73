/**
 * The reference the NestJS services are held to: `Order` and `Watch` on bare
 * @grpc/grpc-js, no framework, no interceptors, no logs; the same proto and
 * loader options (libs/proto), the same work: the cheese-service's aging
 * table, and for Watch an ffmpeg child decoding the mp4 to raw BGR frames,
 * written under the call's back-pressure (stdout paused until 'drain').
 * Watch serves `{MEDIA_DIR}/{id}.mp4` at full speed, raw frames only.
 *
 * With TELEMETRY=1 it also runs, around every call, the services' own
 * telemetry interceptor as production configures it (the info line per call,
 * `grpc_server_*` metrics on a registry with the default ones, request ids):
 * what the services must do per call, on grpc-js without Nest. The gap from
 * plain to this row is the floor under the per-call bars; the gap from this
 * row to cheese-service is Nest's layer.
 *
 * Env: PORT (required), MEDIA_DIR (for Watch), TELEMETRY. Prints "listening <port>".
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  status,
  type GrpcObject,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import {
  createAppLogger,
  createMetricsRegistry,
  grpcServerTelemetryInterceptor,
} from '#observability';
import { GRPC_SERVICES, loadServiceProto, MATCH_ID_PATTERN, stream, type cheesefarm } from '#proto';
import {
  AGING_DAYS,
  VALID_CHEESE_TYPES,
} from '../../apps/cheese-service/src/cheese/cheese-aging.js';
import { findMediaTools } from '../../apps/soccer-service/src/media/media-tools.js';
import { probeVideo, type VideoInfo } from '../../apps/soccer-service/src/media/video-probe.js';

const port = Number(process.env.PORT);
const mediaDir = process.env.MEDIA_DIR ?? './media';
const { ffmpeg, ffprobe } = findMediaTools();
const probes = new Map<string, Promise<VideoInfo>>();

function order(
  call: ServerUnaryCall<cheesefarm.CheeseRequest, cheesefarm.Cheese>,
  callback: sendUnaryData<cheesefarm.Cheese>,
): void {
  const { type } = call.request;
  const range = AGING_DAYS[type];
  if (!range) {
    callback({
      code: status.INVALID_ARGUMENT,
      details: `unknown cheese type ${type}; valid types: ${VALID_CHEESE_TYPES}`,
    });
    return;
  }
  callback(null, { type, age: randomInt(range.minDays, range.maxDays + 1) });
}

function watch(call: ServerWritableStream<stream.Match, stream.Video>): void {
  const { id } = call.request;
  if (!MATCH_ID_PATTERN.test(id) || !ffmpeg || !ffprobe) {
    call.destroy(Object.assign(new Error(`cannot watch ${id}`), { code: status.INVALID_ARGUMENT }));
    return;
  }
  const file = join(mediaDir, `${id}.mp4`);
  let info = probes.get(file);
  if (!info) probes.set(file, (info = probeVideo(ffprobe, file)));
  void info.then(
    ({ width, height, fps }) => streamFrames(call, ffmpeg, file, width, height, fps),
    (err: Error) => call.destroy(Object.assign(err, { code: status.NOT_FOUND })),
  );
}

function streamFrames(
  call: ServerWritableStream<stream.Match, stream.Video>,
  ffmpegPath: string,
  file: string,
  width: number,
  height: number,
  fps: number,
): void {
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file];
  const child = spawn(ffmpegPath, [...args, '-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  call.on('cancelled', () => child.kill('SIGKILL'));
  const frameBytes = width * height * 3;
  const dataShape = `(${height}, ${width}, 3)`;
  let frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let seq = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length;) {
      const n = chunk.copy(frame, filled, offset, offset + frameBytes - filled);
      filled += n;
      offset += n;
      if (filled < frameBytes) continue;
      const writable = call.write({
        data: frame,
        dataType: 'uint8',
        dataShape,
        seq,
        ptsMs: Math.round((seq * 1000) / fps),
        encoding: stream.Encoding.RAW,
      });
      seq++;
      frame = Buffer.allocUnsafe(frameBytes);
      filled = 0;
      if (!writable) {
        child.stdout.pause();
        call.once('drain', () => child.stdout.resume());
      }
    }
  });
  child.once('exit', (code) => {
    if (code === 0) call.end();
    else call.destroy(Object.assign(new Error(`ffmpeg exited ${code}`), { code: status.INTERNAL }));
  });
}

function service(key: 'cheese' | 'soccer') {
  const { package: pkg, service: name } = GRPC_SERVICES[key];
  const ns = loadPackageDefinition(loadServiceProto(key))[pkg] as GrpcObject;
  return (ns[name] as ServiceClientConstructor).service;
}

const telemetry =
  process.env.TELEMETRY === '1'
    ? grpcServerTelemetryInterceptor({
        logger: createAppLogger('plain-grpc-js', 'info'),
        registry: createMetricsRegistry(),
      })
    : undefined;
const server = new Server({ interceptors: telemetry ? [telemetry] : [] });
server.addService(service('cheese'), { Order: order });
server.addService(service('soccer'), { Watch: watch });
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  console.log(`listening ${port}`);
});
// Exit normally on SIGTERM, so that --cpu-prof (BENCH_PROFILE) writes its profile.
process.once('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
