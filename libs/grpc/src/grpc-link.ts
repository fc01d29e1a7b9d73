import { join } from 'node:path';
import { GRPC_SERVICES, PROTO_ROOT, protoLoaderOptions, type GrpcServiceKey } from '#proto';

export interface GrpcLinkConfig {
  /** host:port to listen on (server) or to dial (client). */
  url: string;
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes: number;
}

/** Client keepalive: a ping this often on every connection, and how long its answer may take. */
export const GRPC_KEEPALIVE = { timeMs: 30_000, timeoutMs: 10_000 } as const;

/** The Nest gRPC options both ends of a link share: the proto, the loader, the address, sizes. */
export function grpcLinkOptions(key: GrpcServiceKey, link: GrpcLinkConfig) {
  const def = GRPC_SERVICES[key];
  return {
    package: def.package,
    protoPath: join(PROTO_ROOT, def.protoFile),
    loader: protoLoaderOptions(),
    url: link.url,
    maxReceiveMessageLength: link.maxMessageBytes,
    maxSendMessageLength: link.maxMessageBytes,
  };
}
