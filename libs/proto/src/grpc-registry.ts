import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import * as cheese from './generated/cheesefarm/cheese.pb.js';
import * as stream from './generated/stream/stream.pb.js';

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
export function protoLoaderOptions() {
  return { ...PROTO_LOADER_OPTIONS, includeDirs: [...PROTO_LOADER_OPTIONS.includeDirs] };
}

/** The proto of one of GRPC_SERVICES, loaded exactly as the apps load it. */
export function loadServiceProto(key: GrpcServiceKey): PackageDefinition {
  return loadSync(join(PROTO_ROOT, GRPC_SERVICES[key].protoFile), protoLoaderOptions());
}

/** The fully qualified name of a service: 'cheesefarm.CheeseService', 'stream.Soccer'. */
export function grpcServiceName(key: GrpcServiceKey): string {
  return `${GRPC_SERVICES[key].package}.${GRPC_SERVICES[key].service}`;
}
