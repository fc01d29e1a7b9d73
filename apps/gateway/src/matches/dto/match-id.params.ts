import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

/** A match id: a file name stem on soccer-service, never a path. */
export const MATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Route params of `/v1/matches/:id/...`, checked before any gRPC call. */
export class MatchIdParams {
  @ApiProperty({ pattern: MATCH_ID_PATTERN.source, example: 'demo' })
  @Matches(MATCH_ID_PATTERN, { message: `id must match ${MATCH_ID_PATTERN.source}` })
  id: string;
}
