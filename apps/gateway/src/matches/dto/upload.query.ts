import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { QueryBoolean } from './query-values.js';

/** Query of `PUT /v1/matches/:id/video`. */
export class UploadQuery {
  /** Replace an existing match with this id (409 ALREADY_EXISTS otherwise). */
  @ApiPropertyOptional({ default: false, description: 'replace an existing match' })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean({ message: 'overwrite must be true or false' })
  overwrite: boolean = false;
}
