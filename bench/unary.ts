/**
 * Unary `Order`: cheese-service vs a plain grpc-js server vs the talk's
 * Python server, with h2load, at several concurrencies, rounds alternating.
 */
import type { BenchContext } from './support/context.js';
import { seconds } from './support/context.js';
import { checkOrders } from './support/grpc-clients.js';
import { h2load, ORDER_PATH, orderBody, type LoadResult } from './support/h2load.js';
import { TALK_DIR } from './support/paths.js';
import { CpuWindow } from './support/proc-stats.js';
import { check, type Section } from './support/results.js';
import {
  startApp,
  startPlainServer,
  startPythonServer,
  stopAll,
  type Server,
} from './support/servers.js';
import { fmt, median, rotate } from './support/stats.js';
import type { Tools } from './support/tools.js';

/** In-flight calls: h2load connections x streams per connection. */
const LEVELS = [
  { label: '16', connections: 4, streams: 4 },
  { label: '64', connections: 4, streams: 16 },
] as const;

const NEST = 'cheese-service';
const NEST_WARN = 'cheese-service (LOG_LEVEL=warn)';
const PLAIN = 'plain grpc-js';
const PLAIN_TELEMETRY = "plain grpc-js + the services' telemetry";
const PYTHON = 'talk Python';

interface Sample extends LoadResult {
  cpu: number;
  /** Server CPU time per call: the framework's cost, much less noisy than req/s on a shared machine. */
  cpuUsPerCall: number;
}

export async function unary(
  ctx: BenchContext,
  tools: Tools,
  stubsDir: string | undefined,
): Promise<Section> {
  const notes: string[] = [];
  const servers: Server[] = [];
  try {
    // cheese-service as production runs it (LOG_LEVEL=info: one JSON line per call),
    // and with per-call logs off, to show what the logging costs.
    servers.push(await startApp(ctx, 'unary', 'cheese-service', { CHEESE_PREP_MS: '0' }, NEST));
    servers.push(
      await startApp(
        ctx,
        'unary',
        'cheese-service',
        { CHEESE_PREP_MS: '0', LOG_LEVEL: 'warn' },
        NEST_WARN,
      ),
    );
    servers.push(await startPlainServer(ctx, 'unary'));
    servers.push(await startPlainServer(ctx, 'unary', { TELEMETRY: '1' }, PLAIN_TELEMETRY));
    if (stubsDir) {
      servers.push(await startPythonServer(`${TALK_DIR}cheese_server.py`, [stubsDir], PYTHON));
    } else {
      notes.push(
        "The talk's Python server was skipped: python3-grpcio / python3-grpc-tools missing.",
      );
    }
    for (const s of servers) await checkOrders(`127.0.0.1:${s.port}`);

    const body = await orderBody(ctx.tmp);
    const runOnce = async (s: Server, level: (typeof LEVELS)[number], requests: number) => {
      const cpu = new CpuWindow([s.pid]);
      const result = await h2load(tools.h2load!, {
        url: `http://127.0.0.1:${s.port}${ORDER_PATH}`,
        body,
        ...level,
        requests,
        dir: ctx.tmp,
      });
      const [used] = cpu.used();
      return { ...result, cpu: cpu.percent()[0], cpuUsPerCall: (used * 1e6) / requests };
    };

    // Warm-up (JIT, connections) that also sizes each run to about `secs` seconds.
    const secs = seconds(ctx, 10, 2);
    const size = new Map<string, number>();
    for (const level of LEVELS) {
      for (const s of servers) {
        const warm = await runOnce(s, level, ctx.quick ? 2000 : 5000);
        size.set(`${s.name}/${level.label}`, Math.max(2000, Math.round(warm.rps * secs)));
      }
    }

    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ctx.rounds; round++) {
      for (const level of LEVELS) {
        for (const s of rotate(servers, round)) {
          const key = `${s.name}/${level.label}`;
          ctx.log(`unary ${level.label} in flight, round ${round + 1}: ${s.name}`);
          const sample = await runOnce(s, level, size.get(key)!);
          samples.set(key, [...(samples.get(key) ?? []), sample]);
        }
      }
    }

    const rows: string[][] = [];
    const checks = [];
    for (const level of LEVELS) {
      const of = (name: string) => samples.get(`${name}/${level.label}`) ?? [];
      /** Median over rounds of `name`'s rate over `ref`'s in the same round. */
      const ratio = (name: string, ref: string) =>
        median(of(name).map((s, i) => s.rps / (of(ref)[i]?.rps ?? NaN)));
      for (const s of servers) {
        const runs = of(s.name);
        rows.push([
          level.label,
          s.name,
          fmt(median(runs.map((r) => r.rps))),
          fmt(median(runs.map((r) => r.p50Ms))),
          fmt(median(runs.map((r) => r.p99Ms))),
          fmt(median(runs.map((r) => r.cpu)), 0),
          fmt(median(runs.map((r) => r.cpuUsPerCall)), 0),
          s.name === PLAIN ? '1' : fmt(ratio(s.name, PLAIN)),
        ]);
      }
      checks.push(
        check(
          `unary-vs-plain-${level.label}`,
          `Order, ${level.label} in flight: cheese-service ≥ 0.8× plain grpc-js`,
          ratio(NEST, PLAIN),
          '≥',
          0.8,
          '×',
        ),
      );
      if (stubsDir) {
        checks.push(
          check(
            `unary-vs-python-${level.label}`,
            `Order, ${level.label} in flight: cheese-service ≥ 3.5× the talk's Python server`,
            ratio(NEST, PYTHON),
            '≥',
            3.5,
            '×',
          ),
        );
      }
    }
    notes.push(
      'cheese-service is held to the bars as production runs it (LOG_LEVEL=info, a JSON log line and ' +
        'metrics per call, tracing off: no OTLP endpoint); the LOG_LEVEL=warn row shows the share of the per-call log line.',
      `The "${PLAIN_TELEMETRY}" row (no bar) is the floor under the bars against plain grpc-js: ` +
        "the same server with the services' own telemetry interceptor as production configures it " +
        '(the info line per call, metrics on a registry with the default ones, request ids), no Nest. ' +
        'From plain to it is what the per-call obligations cost on grpc-js alone; from it to ' +
        'cheese-service is what Nest adds.',
      "The talk's server prints a line per order too (to /dev/null here); its random 0-3 s sleep is 0, " +
        "as cheese-service's CHEESE_PREP_MS.",
      'Every call is verified: h2load counts gRPC errors as successes, so each run must receive ' +
        'exactly 9 bytes of DATA per call (a framed Cheese{age, BRIE}); a grpc-js sample of 20 calls ' +
        'per server is decoded before the runs.',
    );
    return {
      id: 'unary',
      title: 'Unary Order (h2load)',
      method:
        `h2load -c 4 -m 4 (16 in flight) and -c 4 -m 16 (64 in flight), POST of a framed ` +
        `CheeseRequest{BRIE}; each run ~${secs} s after a warm-up; ${ctx.rounds} round(s), order rotated; medians.`,
      columns: [
        'in flight',
        'server',
        'req/s',
        'p50 ms',
        'p99 ms',
        'server CPU %',
        'CPU µs/call',
        '× plain',
      ],
      rows,
      checks,
      notes,
    };
  } finally {
    await stopAll(...servers);
  }
}
