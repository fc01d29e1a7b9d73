import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { CHEESE_TYPES, cheeseTypeNumber } from './cheese-types.js';

const TYPE_HINT = `type must be one of ${CHEESE_TYPES.map((t) => t.name).join(', ')} or an enum number`;

/** Body of `POST /v1/cheese/orders`: `{"type":"BRIE"}` or `{"type":1}`. */
export class CreateCheeseOrderDto {
  /**
   * A type name becomes its enum number here; a number is passed on as is,
   * so cheese-service (which owns the list) judges numbers it may know and
   * this gateway does not yet.
   */
  @ApiProperty({
    description: 'a type name (see GET /v1/cheeses), or an enum number cheese-service judges',
    oneOf: [
      { type: 'string', enum: CHEESE_TYPES.map((t) => t.name) },
      { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 },
    ],
    example: 'BRIE',
  })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? (cheeseTypeNumber(value) ?? value) : value,
  )
  @IsInt({ message: TYPE_HINT })
  @Min(0, { message: TYPE_HINT })
  @Max(2 ** 31 - 1, { message: TYPE_HINT })
  type: number;
}
