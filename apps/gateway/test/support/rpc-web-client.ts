// connect-web clients of the gateway's gRPC-Web and Connect endpoints: used
// from Node by rpc-web.e2e-spec.ts and, bundled by esbuild, from Chromium.
import { ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  CheeseService,
  CheeseType,
} from '../../../../libs/proto/src/generated-es/cheesefarm/cheese_pb.js';
import {
  BadRequestSchema,
  ErrorInfoSchema,
  ResourceInfoSchema,
} from '../../../../libs/proto/src/generated-es/google/rpc/error_details_pb.js';
import { Encoding, Soccer } from '../../../../libs/proto/src/generated-es/stream/stream_pb.js';

export type Protocol = 'grpcweb' | 'connect';

/** How a test calls: which protocol, binary or JSON codec. */
export interface Via {
  baseUrl: string;
  protocol: Protocol;
  binary: boolean;
}

function transport({ baseUrl, protocol, binary }: Via): Transport {
  const options = { baseUrl, useBinaryFormat: binary };
  return protocol === 'grpcweb' ? createGrpcWebTransport(options) : createConnectTransport(options);
}

/** Orders one cheese of `type` (a CheeseType name). */
export async function order(via: Via, type: string, headers: Record<string, string> = {}) {
  const cheese = await createClient(CheeseService, transport(via)).order(
    { type: CheeseType[type as keyof typeof CheeseType] },
    { headers },
  );
  return { type: CheeseType[cheese.type], age: cheese.age };
}

/** Watches `id` as JPEG for `maxFrames` frames: what each frame says about itself. */
export async function watch(via: Via, id: string, maxFrames: number) {
  const frames = [];
  for await (const video of createClient(Soccer, transport(via)).watch({
    id,
    encoding: Encoding.JPEG,
    maxFrames,
  })) {
    frames.push({
      seq: Number(video.seq),
      shape: video.dataShape,
      encoding: Encoding[video.encoding],
      // A JPEG starts with the SOI marker FF D8.
      jpeg: video.data[0] === 0xff && video.data[1] === 0xd8,
    });
  }
  return frames;
}

/**
 * Watches the endless `live` match until the page goes away: frames counted
 * in `progress.frames` (for the browser test, which then closes the page).
 */
export function watchForever(via: Via, progress: { frames: number }): void {
  void (async () => {
    for await (const _video of createClient(Soccer, transport(via)).watch({
      id: 'live',
      encoding: Encoding.JPEG,
      fps: 10,
    })) {
      progress.frames++;
    }
  })();
}

/** The error `call` fails with: its code name, message and google.rpc details. */
export async function failure(call: () => Promise<unknown>) {
  try {
    await call();
  } catch (err) {
    const error = ConnectError.from(err);
    return {
      code: error.code,
      message: error.rawMessage,
      errorInfo: error
        .findDetails(ErrorInfoSchema)
        .map((d) => ({ reason: d.reason, domain: d.domain })),
      fieldViolations: error
        .findDetails(BadRequestSchema)
        .flatMap((d) => d.fieldViolations.map((v) => v.field)),
      resources: error
        .findDetails(ResourceInfoSchema)
        .map((d) => `${d.resourceType}/${d.resourceName}`),
    };
  }
  throw new Error('the call did not fail');
}

/** Orders an unknown cheese (42) and watches a match that does not exist: their failures. */
export async function failures(via: Via) {
  return {
    order: await failure(() =>
      createClient(CheeseService, transport(via)).order({ type: 42 as CheeseType }),
    ),
    watch: await failure(() => watch(via, 'no-such-match', 1)),
  };
}
