import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { MATCH_ID_PATTERN } from '#proto';

/** Route params of `/v1/matches/:id/...`, checked before any gRPC call. */
export class MatchIdParams {
  @ApiProperty({ pattern: MATCH_ID_PATTERN.source, example: 'demo' })
  @Matches(MATCH_ID_PATTERN, { message: `id must match ${MATCH_ID_PATTERN.source}` })
  id: string;
}
