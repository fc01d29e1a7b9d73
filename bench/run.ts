/**
 * `npm run bench` / `npm run bench:quick`: starts the real apps (the
 * launcher's production commands) beside reference servers, measures each
 * against its reference in the same run, prints a table and writes a report.
 *
 * Flags (or env): --quick (BENCH_QUICK=1), --only=unary,watch (BENCH_ONLY),
 * --rounds=N (BENCH_ROUNDS), --out=FILE (BENCH_OUT), --profile (BENCH_PROFILE=1:
 * every Node process under test writes a --cpu-prof profile to bench/profiles/).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { coldStart } from './cold-start.js';
import { gatewayOrders } from './gateway-orders.js';
import { consoleReport, markdown } from './report.js';
import { sseViewers } from './sse-viewers.js';
import { slowReader } from './slow-reader.js';
import { soak } from './soak.js';
import type { BenchContext } from './support/context.js';
import { makePythonStubs, makeTestVideo, makeUploadFile } from './support/media.js';
import { ROOT } from './support/paths.js';
import { pageFaultMicros } from './support/proc-stats.js';
import { failedSection, type Section } from './support/results.js';
import { fmt } from './support/stats.js';
import { findTools, machineInfo, missingTools, type Tools } from './support/tools.js';
import { unary } from './unary.js';
import { upload } from './upload.js';
import { watch, type WatchVideos } from './watch.js';
import { idleMemory } from './idle-memory.js';

const SECTIONS = [
  'unary',
  'gateway-orders',
  'watch',
  'sse-viewers',
  'upload',
  'slow-reader',
  'cold-start',
  'idle-memory',
  'soak',
] as const;
type SectionId = (typeof SECTIONS)[number];

/** What `bench:quick` measures unless told (--only): the per-call and per-frame paths. */
const QUICK_SECTIONS: readonly SectionId[] = ['unary', 'gateway-orders', 'watch'];

function option(name: string, env: string): string | undefined {
  const flag = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (flag) return flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : '1';
  return process.env[env] || undefined;
}

const quick = option('quick', 'BENCH_QUICK') === '1';
const only = option('only', 'BENCH_ONLY')?.split(',') as SectionId[] | undefined;
const unknown = only?.filter((s) => !SECTIONS.includes(s));
if (unknown?.length)
  throw new Error(`unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
const selected = SECTIONS.filter((s) =>
  only ? only.includes(s) : !quick || QUICK_SECTIONS.includes(s),
);
const started = performance.now();
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const profile = option('profile', 'BENCH_PROFILE') === '1';

const ctx: BenchContext = {
  quick,
  rounds: Number(option('rounds', 'BENCH_ROUNDS') ?? (quick ? 1 : 3)),
  tmp: mkdtempSync(join(tmpdir(), 'bench-')),
  profileDir: profile ? join(ROOT, 'bench', 'profiles', stamp) : undefined,
  log: (line) =>
    console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`),
};

/** The inputs the selected sections need, made once. */
interface Inputs {
  tools: Tools;
  stubsDir?: string;
  videos?: WatchVideos;
}

async function prepare(): Promise<Inputs> {
  const tools = await findTools();
  for (const line of missingTools(tools)) ctx.log(`skipped: ${line}`);
  const inputs: Inputs = { tools };
  if (tools.pythonGrpc && (selected.includes('unary') || selected.includes('watch'))) {
    inputs.stubsDir = await makePythonStubs(mkdirTmp('py-stubs'));
  }
  if (tools.ffmpeg && selected.includes('watch')) {
    const dir = mkdirTmp('media');
    ctx.log(`making test matches${quick ? ' (360p)' : ' (360p, 720p, 1080p)'}`);
    inputs.videos = {
      main: await makeTestVideo(tools.ffmpeg, dir, quick ? 20 : 60),
      // Shorter: a 1080p frame is 9 times a 360p one.
      larger: quick
        ? []
        : [
            await makeTestVideo(tools.ffmpeg, dir, 20, '720p'),
            await makeTestVideo(tools.ffmpeg, dir, 10, '1080p'),
          ],
    };
  }
  return inputs;
}

function mkdirTmp(name: string): string {
  const dir = join(ctx.tmp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function measure(id: SectionId, inputs: Inputs): Promise<Section> {
  const { tools } = inputs;
  const needs = (ok: unknown, what: string) => {
    if (!ok) throw new Error(`skipped: ${what} not available`);
  };
  switch (id) {
    case 'unary':
      needs(tools.h2load, 'h2load');
      return unary(ctx, tools, inputs.stubsDir);
    case 'gateway-orders':
      needs(tools.h2load, 'h2load');
      return gatewayOrders(ctx, tools);
    case 'watch':
      needs(inputs.videos, 'ffmpeg');
      return watch(ctx, tools, inputs.videos!, tools.pythonOpenCv ? inputs.stubsDir : undefined);
    case 'sse-viewers':
      return sseViewers(ctx);
    case 'upload': {
      needs(tools.ffmpeg && tools.ffprobe, 'ffmpeg/ffprobe');
      const size = quick ? 100 * 1024 ** 2 : 1024 ** 3;
      ctx.log(`making a ${size / 1024 ** 2} MiB upload file`);
      const file = await makeUploadFile(tools.ffmpeg!, mkdirTmp('upload'), size);
      return upload(ctx, file);
    }
    case 'slow-reader':
      return slowReader(ctx);
    case 'cold-start':
      return coldStart(ctx);
    case 'idle-memory':
      return idleMemory(ctx);
    case 'soak':
      needs(tools.ffmpeg, 'ffmpeg');
      return soak(ctx, tools.ffmpeg!);
  }
}

/** The 1-minute load average: runnable processes, on average, over the last minute. */
function loadAverage(): string {
  return loadavg()[0].toFixed(2);
}

/** The report as Prettier would format it: docs/ is under `npm run lint` (prettier --check). */
async function prettyMarkdown(text: string, file: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const options = await prettier.resolveConfig(file);
    return await prettier.format(text, { ...options, filepath: file });
  } catch {
    return text; // no devDependencies installed: unformatted, still correct
  }
}

const titles: Record<SectionId, string> = {
  unary: 'Unary Order (h2load)',
  'gateway-orders': 'POST /v1/cheese/orders through the gateway',
  watch: 'Watch of an mp4: raw frames at 360p, 720p and 1080p, JPEG at 360p',
  'sse-viewers': 'SSE viewers of the live match through the gateway',
  upload: 'Upload through the gateway',
  'slow-reader': 'Slow reader (1 frame/s)',
  'cold-start': 'Cold start',
  'idle-memory': 'Memory at idle',
  soak: 'Soak: 10 minutes of mixed traffic',
};

// Ctrl-C: the apps get the terminal's SIGINT too; the scratch files (up to 2 GiB) must go.
process.once('SIGINT', () => {
  rmSync(ctx.tmp, { recursive: true, force: true });
  process.exit(130);
});

const sections: Section[] = [];
const loadAtStart = loadAverage();
const pageFaultAtStart = pageFaultMicros();
if (Number(loadAtStart) > 1) {
  // The references react to other work very differently (the Python servers most): ratios drift.
  console.warn(`load average ${loadAtStart}: other work is running; ratios will not be comparable`);
}
try {
  ctx.log(`${quick ? 'bench:quick' : 'bench'}: ${selected.join(', ')}; ${ctx.rounds} round(s)`);
  const inputs = await prepare();
  for (const id of selected) {
    ctx.log(`== ${titles[id]}`);
    const section = await measure(id, inputs).catch((err: unknown) =>
      failedSection(id, titles[id], err),
    );
    if (section.error) ctx.log(`${id} failed: ${section.error.split('\n')[0]}`);
    sections.push(section);
  }
  const machine = {
    ...(await machineInfo(inputs.tools)),
    // Other work on the machine slows some servers far more than others (docs/benchmarks.md).
    'load average (1 min)': `${loadAtStart} at the start, ${loadAverage()} at the end`,
    // What a page of new memory costs: the Watch references pay it per frame (docs/benchmarks.md).
    'page fault (CPU µs)': `${fmt(pageFaultAtStart)} at the start, ${fmt(pageFaultMicros())} at the end`,
  };
  const out =
    option('out', 'BENCH_OUT') ??
    (quick || only
      ? join(ROOT, 'bench', 'results', `benchmarks-${quick ? 'quick' : 'partial'}.md`)
      : join(ROOT, 'docs', 'benchmarks.md'));
  const run = {
    mode: quick ? ('quick' as const) : ('full' as const),
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    durationS: (performance.now() - started) / 1000,
    rounds: ctx.rounds,
    machine,
    skipped: missingTools(inputs.tools),
    profileDir: ctx.profileDir && relative(ROOT, ctx.profileDir),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', `${only ? 'partial' : run.mode}-${stamp}.json`),
    JSON.stringify({ run, sections }, null, 2),
  );
  writeFileSync(out, await prettyMarkdown(markdown(run, sections, out), out));
  console.log(consoleReport(sections));
  const failed = sections.flatMap((s) => s.checks).filter((c) => !c.pass).length;
  console.log(
    `\n${failed} bar(s) unmet; report: ${relative(ROOT, out)} (${Math.round(run.durationS)} s)`,
  );
  // A bar unmet is a finding; a measurement that broke is a broken run.
  if (sections.some((s) => s.error)) process.exitCode = 1;
} finally {
  rmSync(ctx.tmp, { recursive: true, force: true });
}
