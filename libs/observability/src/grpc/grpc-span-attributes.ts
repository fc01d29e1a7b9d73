import type { Attributes } from '@opentelemetry/api';
import { ATTR_RPC_METHOD } from '@opentelemetry/semantic-conventions';
// The gRPC span attributes the interceptors have always set; their constants are still in
// the incubating entry point (the lockfile pins its version).
import {
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
} from '@opentelemetry/semantic-conventions/incubating';
import type { GrpcMethodInfo } from './grpc-method.js';

/**
 * The attributes of a gRPC call's span, as the semantic conventions name
 * them. Tracing.start loads this module, so only with tracing on: the
 * incubating entry point alone holds ~3 MB of a process.
 */
export const grpcSpanAttributes = {
  /** What a call's span starts with: `rpc.system`, `rpc.service`, `rpc.method`. */
  ofMethod(info: GrpcMethodInfo): Attributes {
    return {
      [ATTR_RPC_SYSTEM]: 'grpc',
      [ATTR_RPC_SERVICE]: info.service,
      [ATTR_RPC_METHOD]: info.method,
    };
  },
  /** The key of the call's status code, set when it ends. */
  statusCode: ATTR_RPC_GRPC_STATUS_CODE,
} as const;

export type GrpcSpanAttributes = typeof grpcSpanAttributes;
