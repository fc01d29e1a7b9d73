/** One sample of the Prometheus text format: `name{labels} value`. */
export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family's `# TYPE`, by family name. */
export type PrometheusTypes = ReadonlyMap<string, string>;

const SAMPLE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([A-Za-z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
const ESCAPES: Record<string, string> = { '\\\\': '\\', '\\"': '"', '\\n': '\n' };

/**
 * Reads the Prometheus text exposition format (version 0.0.4, what
 * prom-client writes): every sample with its labels unescaped and its value
 * as a number (`+Inf`, `NaN` too), and every family's type. Throws on a line
 * it cannot read, so a format slip fails loudly rather than reading as 0.
 */
export function parsePrometheusText(text: string): {
  samples: PrometheusSample[];
  types: PrometheusTypes;
} {
  const samples: PrometheusSample[] = [];
  const types = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = /^#\s+TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (type) types.set(type[1], type[2]);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    samples.push({
      name: match[1],
      labels: parseLabels(match[2] ?? '', line),
      value: parseValue(match[3], line),
    });
  }
  return { samples, types };
}

// Go's ParseFloat, which Prometheus reads values with, takes these in any case
// (prom-client writes NaN as "Nan").
const SPECIAL_VALUES = new Map([
  ['+inf', Infinity],
  ['inf', Infinity],
  ['-inf', -Infinity],
  ['nan', NaN],
]);

function parseValue(text: string, line: string): number {
  const value = SPECIAL_VALUES.get(text.toLowerCase()) ?? Number(text);
  if (Number.isNaN(value) && text.toLowerCase() !== 'nan') throw new Error(`bad value in: ${line}`);
  return value;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (!match || LABEL.lastIndex === start) throw new Error(`bad labels in: ${line}`);
    labels[match[1]] = match[2].replace(/\\[\\"n]/g, (e) => ESCAPES[e]);
  }
  return labels;
}

/**
 * The sum of the samples named `name` whose labels include `labels`, or 0
 * when there are none (a counter not yet incremented is absent, not zero).
 */
export function sampleSum(
  samples: readonly PrometheusSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
