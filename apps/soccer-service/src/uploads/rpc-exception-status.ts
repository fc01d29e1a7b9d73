import { status, type StatusObject } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';

/**
 * The status grpc-js sends for `err`, for handlers that answer through a raw
 * callback rather than through Nest's exception filter. grpc-js reads `code`
 * and `details` (else `message`) from the object it is given.
 */
export function rpcExceptionStatus(err: unknown): Pick<StatusObject, 'code' | 'details'> {
  const error = err instanceof RpcException ? err.getError() : undefined;
  if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
    const { code, message } = error;
    if (typeof code === 'number' && typeof message === 'string') return { code, details: message };
  }
  return { code: status.INTERNAL, details: 'internal error' };
}
