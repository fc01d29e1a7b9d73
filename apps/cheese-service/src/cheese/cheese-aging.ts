import { cheesefarm } from '#proto';

const { CheeseType } = cheesefarm;

/** Inclusive range of days a cheese of one type is aged before sale. */
export interface AgingRange {
  minDays: number;
  maxDays: number;
}

/**
 * Ripening periods from each cheese's protected-origin rules:
 * - Emmentaler AOP (Switzerland): at least 120 days; Réserve and
 *   cave-aged Emmentaler are sold up to about 18 months.
 * - Brie de Meaux AOP (France): at least 4 weeks, usually sold by 8-10 weeks.
 * - Pecorino Romano DOP (Italy): at least 5 months for the table, up to a
 *   year for grating.
 * - Roquefort AOP (France): at least 90 days in the Combalou caves, commonly
 *   up to 9 months.
 * - Queijo Minas Artesanal da Canastra (Brazil, IMA rules): at least 22 days;
 *   "curado" wheels are kept for about 4 months.
 */
export const AGING_DAYS: Readonly<Record<number, AgingRange>> = {
  [CheeseType.EMMENTAL]: { minDays: 120, maxDays: 540 },
  [CheeseType.BRIE]: { minDays: 28, maxDays: 70 },
  [CheeseType.PECORINO]: { minDays: 150, maxDays: 365 },
  [CheeseType.ROQUEFORT]: { minDays: 90, maxDays: 270 },
  [CheeseType.CANASTRA]: { minDays: 22, maxDays: 120 },
};

/** The cheese types the farm makes, as "NAME (number)", for error messages. */
export const VALID_CHEESE_TYPES = Object.keys(AGING_DAYS)
  .map((n) => `${CheeseType[Number(n)]} (${n})`)
  .join(', ');
