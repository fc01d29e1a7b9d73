import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';

/**
 * The status grpc-js sends for `err`, for handlers that answer through a raw
 * callback rather than through Nest's exception filter. grpc-js reads `code`
 * and `details` (else `message`) from the object it is given.
 */
export function rpcExceptionStatus(
  err: unknown,
): Pick<StatusObject, 'code' | 'details'> & { metadata?: Metadata } {
  const error = err instanceof RpcException ? err.getError() : undefined;
  if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
    const { code, message } = error;
    // A rich error's trailers (richRpcException): its google.rpc.Status details.
    const metadata =
      'metadata' in error && error.metadata instanceof Metadata ? error.metadata : undefined;
    if (typeof code === 'number' && typeof message === 'string') {
      return { code, details: message, ...(metadata && { metadata }) };
    }
  }
  return { code: status.INTERNAL, details: 'internal error' };
}
