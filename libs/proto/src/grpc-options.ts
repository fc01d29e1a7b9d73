import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ChannelOptions, Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import * as cheese from './generated/cheesefarm/cheese.pb.js';
import * as stream from './generated/stream/stream.pb.js';
import { unaryDeadlineInterceptor } from './unary-deadline.interceptor.js';

/** libs/proto/proto in the repo; the build copies it beside the compiled code. */
export const PROTO_ROOT = fileURLToPath(new URL('../proto/', import.meta.url));

/**
 * Must agree with the ts-proto options in buf.gen.yaml, or fields silently
 * vanish on the wire: camelCase names (data_type -> dataType), enums and
 * longs as numbers, and proto3 zero values present (a Python client ordering
 * EMMENTAL sends an empty message; the handler must still see type 0).
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
} as const;

/** Every gRPC service of the system: its proto package, file and service name. */
export const GRPC_SERVICES = {
  cheese: {
    package: cheese.CHEESEFARM_PACKAGE_NAME,
    protoFile: cheese.protobufFileName,
    service: cheese.CHEESE_SERVICE_NAME,
  },
  soccer: {
    package: stream.STREAM_PACKAGE_NAME,
    protoFile: stream.protobufFileName,
    service: stream.SOCCER_SERVICE_NAME,
  },
} as const;

export type GrpcServiceKey = keyof typeof GRPC_SERVICES;

/** A mutable copy of PROTO_LOADER_OPTIONS, as Nest and proto-loader take them. */
function loaderOptions() {
  return { ...PROTO_LOADER_OPTIONS, includeDirs: [...PROTO_LOADER_OPTIONS.includeDirs] };
}

/** The proto of one of GRPC_SERVICES, loaded exactly as the apps load it. */
export function loadServiceProto(key: GrpcServiceKey): PackageDefinition {
  return loadSync(join(PROTO_ROOT, GRPC_SERVICES[key].protoFile), loaderOptions());
}

/** The fully qualified name of a service: 'cheesefarm.CheeseService', 'stream.Soccer'. */
export function grpcServiceName(key: GrpcServiceKey): string {
  return `${GRPC_SERVICES[key].package}.${GRPC_SERVICES[key].service}`;
}

/** What a server registers beside its own services (GrpcOperations is one). */
export interface GrpcServerHooks {
  /** Called with the package definition and the bound grpc-js server, before services are added. */
  onLoadPackageDefinition(pkg: PackageDefinition, server: Server): void;
}

export interface GrpcLinkConfig {
  /** host:port to listen on (server) or to dial (client). */
  url: string;
  /** Largest message accepted or sent, in bytes. */
  maxMessageBytes: number;
}

export interface GrpcClientConfig extends GrpcLinkConfig {
  /** Deadline given to every unary call that has none of its own. */
  unaryDeadlineMs: number;
}

function baseOptions(key: GrpcServiceKey, link: GrpcLinkConfig) {
  const def = GRPC_SERVICES[key];
  return {
    package: def.package,
    protoPath: join(PROTO_ROOT, def.protoFile),
    loader: loaderOptions(),
    url: link.url,
    maxReceiveMessageLength: link.maxMessageBytes,
    maxSendMessageLength: link.maxMessageBytes,
  };
}

/**
 * Options for `NestFactory.createMicroservice` serving one of GRPC_SERVICES.
 * With `hooks` (the app's GrpcOperations), health and reflection are served
 * too, and closing the app is graceful: grpc-js `tryShutdown` lets the calls
 * in flight finish instead of cancelling them.
 */
export function grpcServerOptions(
  key: GrpcServiceKey,
  link: GrpcLinkConfig,
  hooks?: GrpcServerHooks,
): GrpcOptions {
  const options = baseOptions(key, link);
  if (!hooks) return { transport: Transport.GRPC, options };
  return {
    transport: Transport.GRPC,
    options: {
      ...options,
      gracefulShutdown: true,
      onLoadPackageDefinition: (pkg: PackageDefinition, server: Server) =>
        hooks.onLoadPackageDefinition(pkg, server),
    },
  };
}

/** Options for a `ClientsModule` entry calling one of GRPC_SERVICES. */
export function grpcClientOptions(key: GrpcServiceKey, client: GrpcClientConfig): GrpcOptions {
  const channelOptions = {
    // grpc's default backoff grows to 2 minutes; a restarted backend should
    // be found again within seconds.
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': 5000,
    // grpc-js reads `interceptors` from the client options Nest passes through.
    interceptors: [unaryDeadlineInterceptor(client.unaryDeadlineMs)],
  } as ChannelOptions;
  return {
    transport: Transport.GRPC,
    options: { ...baseOptions(key, client), channelOptions },
  };
}
