import { status } from '@grpc/grpc-js';
import { grpcServiceName, richRpcException } from '#proto';

/** A match id: a file name stem, never a path. */
export const MATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The domain of soccer-service's error reasons (ErrorInfo). */
export const SOCCER_ERROR_DOMAIN = grpcServiceName('soccer');

/**
 * Returns `id` when valid, else throws INVALID_ARGUMENT naming `field`, the
 * request field it came from, in its BadRequest detail.
 */
export function checkMatchId(id: string, field = 'id'): string {
  if (!MATCH_ID_PATTERN.test(id)) {
    const message = `invalid match id ${JSON.stringify(id.slice(0, 80))}: must match ${MATCH_ID_PATTERN.source}`;
    throw invalidArgument(message, 'INVALID_MATCH_ID', field);
  }
  return id;
}

/** INVALID_ARGUMENT for one bad request `field`, with its ErrorInfo `reason` and BadRequest detail. */
export function invalidArgument(message: string, reason: string, field: string) {
  return richRpcException(status.INVALID_ARGUMENT, message, {
    reason,
    domain: SOCCER_ERROR_DOMAIN,
    fieldViolations: [{ field, description: message }],
  });
}
