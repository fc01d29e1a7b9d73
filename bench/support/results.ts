/** One bar or target a measured value is held to. */
export interface Check {
  /** Stable key: the report keeps hand-written causes under it across runs. */
  id: string;
  /** What is held to what, in words. */
  bar: string;
  value: number;
  unit: '×' | 'ms' | 'MB' | 'fps' | '';
  op: '≥' | '≤' | '<' | '>' | '=';
  threshold: number;
  pass: boolean;
  /** Where the bar comes from: DESIGN.md's bars, or an issue's targets. */
  source: 'DESIGN.md' | 'issue #7' | 'issue #18';
}

/** The outcome of one measurement: a table, the checks, and what a reader should know. */
export interface Section {
  id: string;
  title: string;
  /** How it was measured, in a sentence or two. */
  method: string;
  columns: string[];
  rows: string[][];
  checks: Check[];
  notes: string[];
  /** Set when the measurement itself failed (the bars it holds are then unmet). */
  error?: string;
}

export function check(
  id: string,
  bar: string,
  value: number,
  op: Check['op'],
  threshold: number,
  unit: Check['unit'],
  source: Check['source'] = 'DESIGN.md',
): Check {
  const pass =
    Number.isFinite(value) &&
    {
      '≥': value >= threshold,
      '≤': value <= threshold,
      '<': value < threshold,
      '>': value > threshold,
      '=': value === threshold,
    }[op];
  return { id, bar, value, unit, op, threshold, pass, source };
}

/** A section whose measurement could not run or broke, with the error as its finding. */
export function failedSection(id: string, title: string, err: unknown): Section {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { id, title, method: '', columns: [], rows: [], checks: [], notes: [], error: message };
}
