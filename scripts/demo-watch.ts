/**
 * `npm run demo:watch -- ID [MAX_FRAMES]`: the talk's soccer client, on the
 * generated client interface: watches a match and prints frames and fps.
 */
import { Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { lastValueFrom, tap } from 'rxjs';
import { stream } from '#proto';
import { grpcClientOptions, grpcClientSecurity } from '#grpc';

const target = process.env.SOCCER_GRPC_URL ?? 'localhost:4001';
const [id = 'demo', maxFrames = '0'] = process.argv.slice(2);

const client = new ClientGrpcProxy(
  grpcClientOptions('soccer', {
    url: target,
    maxMessageBytes: 64 * 1024 * 1024,
    unaryDeadlineMs: 5000,
    // The gateway's variables: GRPC_TLS_CA (+ client cert/key), GRPC_AUTH_TOKEN.
    security: grpcClientSecurity(process.env),
  }).options,
);
const soccer = client.getService<stream.SoccerClient>(stream.SOCCER_SERVICE_NAME);

const started = performance.now();
let frames = 0;
let bytes = 0;
let shape = '';
const report = () => {
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${frames} frames ${shape} in ${seconds.toFixed(1)} s: ${(frames / seconds).toFixed(1)} fps, ` +
      `${(bytes / 1e6 / seconds).toFixed(1)} MB/s`,
  );
};
const ticker = setInterval(report, 1000);

console.log(`Watching ${id} from ${target} (Ctrl-C stops)`);
try {
  await lastValueFrom(
    soccer
      .watch(
        { id, maxFrames: Number(maxFrames), encoding: stream.Encoding.RAW, fps: 0, jpegQuality: 0 },
        new Metadata(),
      )
      .pipe(
        tap((video) => {
          frames++;
          bytes += video.data.length;
          shape = video.dataShape;
        }),
      ),
    { defaultValue: undefined },
  );
  report();
} catch (err) {
  console.error(`[gRPC] ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  clearInterval(ticker);
  client.close();
}
