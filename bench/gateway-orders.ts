/**
 * `POST /v1/cheese/orders` through the gateway (autocannon, 64 connections)
 * vs the same calls made directly to cheese-service (h2load, 64 connections),
 * and, as the floor under both bars, through a bare Fastify + grpc-js gateway;
 * below it, through node:http + grpc-js with nothing else.
 */
import { autocannon } from './support/autocannon.js';
import type { BenchContext } from './support/context.js';
import { seconds } from './support/context.js';
import { checkOrders } from './support/grpc-clients.js';
import { h2load, ORDER_PATH, orderBody, type LoadResult } from './support/h2load.js';
import { CpuWindow } from './support/proc-stats.js';
import { check, type Section } from './support/results.js';
import {
  startApp,
  startBareGateway,
  startGateway,
  stopAll,
  type Server,
  type StartedApp,
} from './support/servers.js';
import { fmt, median, rotate } from './support/stats.js';
import type { Tools } from './support/tools.js';

const CONNECTIONS = 64;
const BODY = '{"type":"BRIE"}';

interface Sample extends LoadResult {
  cpu: number[];
  /** CPU µs per request of the gateway and of cheese-service. */
  usPerCall: number[];
}

function withCpu(r: LoadResult, cpu: CpuWindow): Sample {
  return { ...r, cpu: cpu.percent(), usPerCall: cpu.used().map((s) => (s * 1e6) / r.requests) };
}

export async function gatewayOrders(ctx: BenchContext, tools: Tools): Promise<Section> {
  let cheese: StartedApp | undefined;
  let gateway: StartedApp | undefined;
  let bare: Server | undefined;
  let least: Server | undefined;
  try {
    cheese = await startApp(ctx, 'gateway-orders', 'cheese-service', { CHEESE_PREP_MS: '0' });
    gateway = await startGateway(ctx, 'gateway-orders', { cheese });
    bare = await startBareGateway(ctx, 'gateway-orders', cheese);
    least = await startBareGateway(ctx, 'gateway-orders', cheese, 'node:http');
    await checkOrders(`127.0.0.1:${cheese.port}`);
    for (const g of [gateway, bare, least]) await checkGatewayOrder(g);

    const secs = seconds(ctx, 10, 3);
    const body = await orderBody(ctx.tmp);
    const via = async (g: Server, s: number) => {
      const cpu = new CpuWindow([g.pid, cheese!.pid]);
      const r = await autocannon({
        url: `http://127.0.0.1:${g.port}/v1/cheese/orders`,
        connections: CONNECTIONS,
        seconds: s,
        method: 'POST',
        body: BODY,
      });
      return withCpu(r, cpu);
    };
    let directRequests = 5000;
    const direct = async () => {
      const cpu = new CpuWindow([gateway!.pid, cheese!.pid]);
      const r = await h2load(tools.h2load!, {
        url: `http://127.0.0.1:${cheese!.port}${ORDER_PATH}`,
        body,
        connections: CONNECTIONS,
        streams: 1,
        requests: directRequests,
        dir: ctx.tmp,
      });
      return withCpu(r, cpu);
    };

    // Warm-up of every path; the direct one also sizes its runs to ~secs.
    for (const g of [gateway, bare, least]) await via(g, ctx.quick ? 1 : 3);
    directRequests = Math.max(2000, Math.round((await direct()).rps * secs));

    const contenders = [
      { name: 'gateway (HTTP → gRPC)', run: () => via(gateway!, secs) },
      { name: 'direct gRPC', run: direct },
      { name: `${bare.name} (floor)`, run: () => via(bare!, secs) },
      { name: `${least.name} (no log)`, run: () => via(least!, secs) },
    ];
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ctx.rounds; round++) {
      for (const c of rotate(contenders, round)) {
        ctx.log(`orders, round ${round + 1}: ${c.name}`);
        samples.set(c.name, [...(samples.get(c.name) ?? []), await c.run()]);
      }
    }
    const [gw, dir] = contenders.map((c) => samples.get(c.name)!);
    /** Median over rounds of a path's rate over the direct one's in the same round. */
    const toDirect = (runs: Sample[]) => median(runs.map((s, i) => s.rps / dir[i].rps));
    const ratio = toDirect(gw);
    const p99 = median(gw.map((s) => s.p99Ms));
    return {
      id: 'gateway-orders',
      title: 'POST /v1/cheese/orders through the gateway',
      method:
        `autocannon -c ${CONNECTIONS} -d ${secs} POST ${BODY} to the gateway in front of cheese-service, ` +
        `vs h2load -c ${CONNECTIONS} -m 1 Order(BRIE) straight to cheese-service; ${ctx.rounds} round(s), ` +
        'alternating; medians.',
      columns: [
        'path',
        'req/s',
        'p50 ms',
        'p99 ms',
        'gateway CPU %',
        'gateway µs/req',
        'cheese CPU %',
        'cheese µs/call',
        '× direct',
      ],
      rows: contenders.map((c) => {
        const runs = samples.get(c.name)!;
        const http = c.run !== direct;
        return [
          c.name,
          fmt(median(runs.map((r) => r.rps))),
          fmt(median(runs.map((r) => r.p50Ms))),
          fmt(median(runs.map((r) => r.p99Ms))),
          http ? fmt(median(runs.map((r) => r.cpu[0])), 0) : '–',
          http ? fmt(median(runs.map((r) => r.usPerCall[0])), 0) : '–',
          fmt(median(runs.map((r) => r.cpu[1])), 0),
          fmt(median(runs.map((r) => r.usPerCall[1])), 0),
          http ? fmt(toDirect(runs)) : '1',
        ];
      }),
      checks: [
        check(
          'gateway-orders-ratio',
          'Gateway orders ≥ 0.5× direct gRPC throughput',
          ratio,
          '≥',
          0.5,
          '×',
        ),
        check(
          'gateway-orders-p99',
          'Gateway orders p99 at 64 connections ≤ 25 ms',
          p99,
          '≤',
          25,
          'ms',
        ),
      ],
      notes: [
        'Both apps run as in production (LOG_LEVEL=info): the gateway logs each request and ' +
          'cheese-service each call. GATEWAY_RATE_LIMIT=0 and GATEWAY_MAX_STREAMS_PER_IP=0: one load ' +
          'generator on one address would otherwise be throttled.',
        'On 2 cores the gateway run shares them between autocannon, the gateway and cheese-service; ' +
          'the direct run between h2load and cheese-service.',
        'The floor row (no bar) is bench/reference/bare-gateway.ts: the same route on bare Fastify ' +
          'with a bare grpc-js client, doing only what any gateway must (the JSON body checked by a ' +
          "compiled schema, the call, the JSON answer) and the gateway's own request line, with none " +
          "of the gateway's other features (API keys, request ids, metrics, security headers, CORS, " +
          'retries, Nest). Its ratio and p99 show what the least a Node gateway does reaches on this machine.',
        'The no-log row (no bar) is bench/reference/http-gateway.ts: node:http with a bare grpc-js ' +
          'client, the JSON body parsed, the call, the JSON answer; no framework, no schema, no ' +
          'request line. Its p99 bounds what any gateway written in Node reaches here.',
      ],
    };
  } finally {
    await stopAll(least, bare, gateway, cheese);
  }
}

/** One order through `gateway` (the app or a reference gateway), checked before any load. */
async function checkGatewayOrder(gateway: Server): Promise<void> {
  const answer = await fetch(`http://127.0.0.1:${gateway.port}/v1/cheese/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });
  const cheese = (await answer.json()) as { type?: unknown; age?: unknown };
  if (answer.status !== 200 || cheese.type !== 'BRIE' || typeof cheese.age !== 'number') {
    throw new Error(`${gateway.name}: order answered ${answer.status} ${JSON.stringify(cheese)}`);
  }
}
