import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { createValidationPipe } from '../validation-pipe.js';
import { CheeseOrderBodyPipe } from './cheese-order-body.pipe.js';
import { CreateCheeseOrderDto } from './create-cheese-order.dto.js';

/** What the DTO's ValidationPipe makes of a body: the type, or the error's response. */
async function byDto(body: unknown): Promise<unknown> {
  try {
    const dto = (await createValidationPipe().transform(body, {
      type: 'body',
      metatype: CreateCheeseOrderDto,
    })) as CreateCheeseOrderDto;
    return { type: dto.type };
  } catch (err) {
    return (err as { getResponse(): unknown }).getResponse();
  }
}

async function byPipe(body: unknown): Promise<unknown> {
  try {
    return await new CheeseOrderBodyPipe().transform(body);
  } catch (err) {
    return (err as { getResponse(): unknown }).getResponse();
  }
}

const BODIES: unknown[] = [
  { type: 'BRIE' },
  { type: 'EMMENTAL' },
  { type: 0 },
  { type: 1 },
  { type: 99 },
  { type: 2 ** 31 - 1 },
  { type: 2 ** 31 },
  { type: -1 },
  { type: 1.5 },
  { type: '1' },
  { type: 'brie' },
  { type: 'UNRECOGNIZED' },
  { type: null },
  { type: true },
  { type: ['BRIE'] },
  { type: { a: 1 } },
  { type: 'BRIE', x: 1 },
  { x: 1 },
  {},
  null,
  undefined,
  'BRIE',
  1,
  [{ type: 'BRIE' }],
  [],
];

describe('CheeseOrderBodyPipe', () => {
  it.each(BODIES.map((b) => [JSON.stringify(b), b]))(
    'judges %s as the DTO does',
    async (_name, body) => {
      expect(await byPipe(body)).toEqual(await byDto(body));
    },
  );
});
