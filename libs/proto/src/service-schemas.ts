import type { DescService } from '@bufbuild/protobuf';
import { CheeseService } from './generated-es/cheesefarm/cheese_pb.js';
import { Soccer } from './generated-es/stream/stream_pb.js';
import type { GrpcServiceKey } from './grpc-registry.js';

/**
 * The @bufbuild/protobuf schema of each of GRPC_SERVICES (protoc-gen-es,
 * from the same .proto files): what the gateway needs to speak gRPC-Web and
 * Connect for every method, and to turn their JSON into protobuf bytes.
 */
export const GRPC_SERVICE_SCHEMAS: Readonly<Record<GrpcServiceKey, DescService>> = {
  cheese: CheeseService,
  soccer: Soccer,
};
