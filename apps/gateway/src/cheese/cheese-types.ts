import { cheesefarm } from '#proto';
import type { CheeseTypeView } from '../openapi/models.js';

const { CheeseType } = cheesefarm;

/** The cheese types of the generated enum, without ts-proto's UNRECOGNIZED. */
export const CHEESE_TYPES: ReadonlyArray<CheeseTypeView> = Object.entries(CheeseType)
  .filter(([, value]) => typeof value === 'number')
  .map(([name, value]) => ({ name, number: Number(value) }))
  .filter(({ number }) => number >= 0);

/** Enum number of a type name, e.g. "BRIE" -> 1; undefined when unknown. */
export function cheeseTypeNumber(name: string): number | undefined {
  return CHEESE_TYPES.find((t) => t.name === name)?.number;
}

/** Enum name of a type number; the number itself (as text) when this build does not know it. */
export function cheeseTypeName(type: number): string {
  return CHEESE_TYPES.find((t) => t.number === type)?.name ?? String(type);
}
