import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * gRPC status -> HTTP status, the table grpc-gateway uses
 * (runtime.HTTPStatusFromCode); 499 is nginx's "client closed request".
 */
const HTTP_STATUS_OF: Readonly<Record<GrpcStatus, number>> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.UNKNOWN]: 500,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.INTERNAL]: 500,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DATA_LOSS]: 500,
  [GrpcStatus.UNAUTHENTICATED]: 401,
};

/** HTTP status for a gRPC status code; 500 for a code gRPC does not define. */
export function httpStatusFromGrpc(code: number): number {
  return HTTP_STATUS_OF[code as GrpcStatus] ?? 500;
}

/**
 * gRPC status that best names an error raised by the HTTP layer itself
 * (bad JSON, unknown route, body too large), so every error body has the
 * same shape whichever side produced it.
 */
export function grpcStatusFromHttp(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.NOT_FOUND;
    case 405:
    case 501:
      return GrpcStatus.UNIMPLEMENTED;
    case 408:
    case 504:
      return GrpcStatus.DEADLINE_EXCEEDED;
    case 409:
      return GrpcStatus.ALREADY_EXISTS;
    case 413:
    case 429:
    case 431:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 499:
      return GrpcStatus.CANCELLED;
    case 503:
      return GrpcStatus.UNAVAILABLE;
    default:
      if (httpStatus >= 400 && httpStatus < 500) return GrpcStatus.INVALID_ARGUMENT;
      return httpStatus >= 500 ? GrpcStatus.INTERNAL : GrpcStatus.OK;
  }
}

/** The status name, e.g. "INVALID_ARGUMENT". */
export function grpcStatusName(code: number): string {
  return GrpcStatus[code] ?? 'UNKNOWN';
}
