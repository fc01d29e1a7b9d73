import type { Client, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { cheesefarm, stream } from '#proto';
import { createGrpcClient } from '#grpc';

export type OrderClient = Client & {
  order(
    request: cheesefarm.CheeseRequest,
    callback: (err: ServiceError | null, cheese?: cheesefarm.Cheese) => void,
  ): void;
};

type WatchClient = Client & {
  watch(request: Partial<stream.Match>): ClientReadableStream<stream.Video>;
};

/**
 * Orders `count` BRIEs with a grpc-js client and checks each answer: the
 * sample behind h2load's byte count, decoded for real.
 */
export async function checkOrders(target: string, count = 20): Promise<void> {
  const client = createGrpcClient('cheese', target) as OrderClient;
  try {
    for (let i = 0; i < count; i++) {
      const cheese = await new Promise<cheesefarm.Cheese>((resolve, reject) =>
        client.order({ type: cheesefarm.CheeseType.BRIE }, (err, c) =>
          err ? reject(err) : resolve(c!),
        ),
      );
      if (cheese.type !== cheesefarm.CheeseType.BRIE || !(cheese.age > 0 && cheese.age < 128)) {
        throw new Error(`${target}: bad answer to Order(BRIE): ${JSON.stringify(cheese)}`);
      }
    }
  } finally {
    client.close();
  }
}

/**
 * HTTP/2 receive window of the Watch clients. grpc-js keeps Node's 64 KiB
 * default unless told, so a 691 KB frame needs ~11 WINDOW_UPDATE round trips
 * and the client, not the server, sets the pace; C-core clients (the talk's
 * Python client) grow theirs to megabytes by BDP probing. The bench measures
 * the servers with a client that does not hold them back.
 */
export const WATCH_CLIENT_WINDOW = 8 * 1024 * 1024;

export interface WatchRun {
  frames: number;
  seconds: number;
  fps: number;
}

/**
 * Watches `id` from start to end at full speed (fps 0, raw) and counts the
 * frames, checking each is `frameBytes` long (with `jpeg`: each a JPEG). The
 * client only counts, so the server (and the flow control between them) sets
 * the pace. With `limit`, cancels after that many frames (a warm-up).
 */
export function watchAll(
  target: string,
  id: string,
  frameBytes: number,
  { limit = Infinity, window = WATCH_CLIENT_WINDOW, jpeg = false } = {},
): Promise<WatchRun> {
  const client = createGrpcClient('soccer', target, undefined, {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    // 0: grpc-js's default window.
    ...(window ? { 'grpc-node.flow_control_window': window } : {}),
  }) as WatchClient;
  const started = performance.now();
  let frames = 0;
  return new Promise<WatchRun>((resolve, reject) => {
    const encoding = jpeg ? stream.Encoding.JPEG : stream.Encoding.RAW;
    const call = client.watch({ id, fps: 0, encoding });
    call.on('data', (video: stream.Video) => {
      const ok = jpeg
        ? video.data[0] === 0xff && video.data[1] === 0xd8 // a JPEG's SOI marker
        : video.data.length === frameBytes;
      if (!ok) {
        call.cancel();
        reject(new Error(`${target}: frame of ${video.data.length} bytes, not ${frameBytes}`));
      }
      if (++frames === limit) {
        call.cancel();
        done();
      }
    });
    const done = () => {
      const seconds = (performance.now() - started) / 1000;
      resolve({ frames, seconds, fps: frames / seconds });
    };
    call.on('error', (err) => (frames === limit ? undefined : reject(err)));
    call.on('end', done);
  }).finally(() => client.close());
}
