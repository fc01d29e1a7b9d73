/** The console table and docs/benchmarks.md, from the sections of a run. */
import { existsSync, readFileSync } from 'node:fs';
import type { Check, Section } from './support/results.js';
import { fmt } from './support/stats.js';

export interface RunInfo {
  mode: 'full' | 'quick';
  date: string;
  durationS: number;
  rounds: number;
  machine: Record<string, string>;
  skipped: string[];
  profileDir?: string;
}

const PLACEHOLDER = '_to be filled: the profile (bench/profiles/…), the cause, the fix._';

function withUnit(value: string, unit: Check['unit']): string {
  return unit === '×' || unit === '' ? `${value}${unit}` : `${value} ${unit}`;
}

function checkValue(c: Check): string {
  return withUnit(Number.isInteger(c.value) ? String(c.value) : fmt(c.value), c.unit);
}

function checkBar(c: Check): string {
  return `${c.op} ${withUnit(String(c.threshold), c.unit)}`;
}

function table(columns: string[], rows: string[][]): string[] {
  const esc = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${columns.map(esc).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
}

/** Hand-written "Profile/cause/fix" lines of an earlier report, by check id, to be kept. */
function previousCauses(path: string): Map<string, string> {
  const causes = new Map<string, string>();
  if (!existsSync(path)) return causes;
  for (const m of readFileSync(path, 'utf8').matchAll(
    /^- \*\*Profile\/cause\/fix\*\* \(`([^`]+)`\): (.*)$/gm,
  )) {
    if (m[2] !== PLACEHOLDER) causes.set(m[1], m[2]);
  }
  return causes;
}

/** docs/benchmarks.md: machine, versions, the bars at a glance, then each measurement. */
export function markdown(run: RunInfo, sections: Section[], previousPath: string): string {
  const causes = previousCauses(previousPath);
  const checks = sections.flatMap((s) => s.checks);
  const out = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts); only the "Profile/cause/fix" lines are edited by ' +
      'hand, and a rerun keeps them. -->',
    '',
    `Measured by \`npm run ${run.mode === 'quick' ? 'bench:quick' : 'bench'}\` on ${run.date}, in ` +
      `${Math.round(run.durationS)} s. Each bar is a ratio against a reference measured in the same ` +
      `run, alternating A/B over ${run.rounds} round(s) and quoting medians, because the machine is ` +
      'shared: absolute numbers vary from run to run, ratios much less.',
    '',
    '## Machine',
    '',
    ...table(
      ['', 'this run'],
      Object.entries(run.machine).map(([k, v]) => [k, v]),
    ),
    '',
  ];
  if (run.skipped.length) {
    out.push('Skipped for missing tools:', '', ...run.skipped.map((s) => `- ${s}`), '');
  }
  out.push(
    '## Bars',
    '',
    ...(checks.length
      ? table(
          ['bar', 'measured', 'held to', 'result', 'from'],
          checks.map((c) => [
            c.bar,
            checkValue(c),
            checkBar(c),
            c.pass ? 'PASS' : '**FAIL**',
            c.source,
          ]),
        )
      : ['No bar is held to the sections of this run.']),
    '',
  );
  const broken = sections.filter((s) => s.error);
  if (broken.length) {
    out.push(
      `Not measured (the run failed; its bars count as unmet): ${broken.map((s) => s.title).join(', ')}.`,
      '',
    );
  }
  for (const s of sections) {
    out.push(`## ${s.title}`, '');
    if (s.error) {
      out.push('The measurement failed:', '', '```', s.error, '```', '');
      continue;
    }
    out.push(s.method, '', ...table(s.columns, s.rows), '');
    for (const c of s.checks) {
      out.push(`- ${c.pass ? 'PASS' : '**FAIL**'}: ${c.bar}: ${checkValue(c)} (${checkBar(c)})`);
      if (!c.pass) {
        out.push(`- **Profile/cause/fix** (\`${c.id}\`): ${causes.get(c.id) ?? PLACEHOLDER}`);
      }
    }
    if (s.checks.length) out.push('');
    out.push(...s.notes.map((n) => `- ${n}`), '');
  }
  if (run.profileDir) out.push(`CPU profiles of this run: \`${run.profileDir}\`.`, '');
  return out.join('\n');
}

/** The same, as plain text for the terminal. */
export function consoleReport(sections: Section[]): string {
  const lines: string[] = [];
  for (const s of sections) {
    lines.push('', `== ${s.title}`);
    if (s.error) {
      lines.push(`   FAILED: ${s.error.split('\n')[0]}`);
      continue;
    }
    const widths = s.columns.map((c, i) => Math.max(c.length, ...s.rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
    lines.push(`   ${line(s.columns)}`, ...s.rows.map((r) => `   ${line(r)}`));
    for (const c of s.checks) {
      lines.push(`   ${c.pass ? 'PASS' : 'FAIL'}  ${c.bar}: ${checkValue(c)} (${checkBar(c)})`);
    }
  }
  return lines.join('\n');
}
