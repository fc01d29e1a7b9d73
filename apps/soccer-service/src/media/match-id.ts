import { status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';

/** A match id: a file name stem, never a path. */
export const MATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Returns `id` when valid, else throws INVALID_ARGUMENT. */
export function checkMatchId(id: string): string {
  if (!MATCH_ID_PATTERN.test(id)) {
    throw new RpcException({
      code: status.INVALID_ARGUMENT,
      message: `invalid match id ${JSON.stringify(id.slice(0, 80))}: must match ${MATCH_ID_PATTERN.source}`,
    });
  }
  return id;
}
