import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { APPS, AppProcess, freePort, OutputTail, portListener, type AppName } from '#launcher';
import type { BenchContext } from './context.js';
import { benchScript, ROOT } from './paths.js';

/** A server under test, whatever it is written in. */
export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** A project app started by libs/launcher: the production command, plus its metrics port. */
export interface StartedApp extends Server {
  readonly app: AppProcess;
  /** METRICS_PORT of a service (0 for the gateway, whose /metrics is on `port`). */
  readonly metricsPort: number;
}

/**
 * Environment every process under test gets in a bench run. Shutdown is
 * shortened so runs do not wait for the 10 s production grace period; with
 * BENCH_PROFILE=1, Node writes a CPU profile at exit (NODE_OPTIONS reaches
 * the apps through the launcher unchanged, so their command stays the
 * production one).
 */
function benchEnv(ctx: BenchContext, section: string, name: string): Record<string, string> {
  const env: Record<string, string> = { SHUTDOWN_GRACE_MS: '2000' };
  if (ctx.profileDir) {
    const dir = join(ctx.profileDir, section, name.replace(/[^\w.-]+/g, '_'));
    mkdirSync(dir, { recursive: true });
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${dir}`.trim();
  }
  return env;
}

/** How a bench starts an app beyond its environment. */
export interface StartAppOptions {
  /** With the inspector on a free port, for reading its live heap (the soak). */
  inspect?: boolean;
}

/** Starts one of the apps on free loopback ports, as `npm run start:<name>` would run it. */
export async function startApp(
  ctx: BenchContext,
  section: string,
  name: AppName,
  env: Record<string, string> = {},
  label: string = name,
  { inspect = false }: StartAppOptions = {},
): Promise<StartedApp> {
  const port = await freePort();
  const metricsPort = name === 'gateway' ? 0 : await freePort();
  const host = { 'cheese-service': 'CHEESE', 'soccer-service': 'SOCCER', gateway: 'GATEWAY' }[name];
  const app = await AppProcess.start(name, {
    port,
    metricsPort,
    readyTimeoutMs: 60_000,
    inspect,
    env: {
      [name === 'gateway' ? 'GATEWAY_HTTP_HOST' : `${host}_GRPC_HOST`]: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      ...benchEnv(ctx, section, label),
      ...env,
    },
  });
  return {
    name: label,
    pid: app.child.pid!,
    port,
    metricsPort,
    app,
    stop: async () => {
      await app.stop('SIGTERM', 10_000);
    },
  };
}

/** The gateway in front of the given services (an unused one gets a dead address). */
export function startGateway(
  ctx: BenchContext,
  section: string,
  backends: { cheese?: Server; soccer?: Server },
  env: Record<string, string> = {},
  options: StartAppOptions = {},
): Promise<StartedApp> {
  return startApp(
    ctx,
    section,
    'gateway',
    {
      CHEESE_GRPC_URL: `127.0.0.1:${backends.cheese?.port ?? 1}`,
      SOCCER_GRPC_URL: `127.0.0.1:${backends.soccer?.port ?? 1}`,
      // The gateway's per-client limits would throttle one load generator on one IP
      // (unknown variables are ignored by older builds).
      GATEWAY_RATE_LIMIT: '0',
      GATEWAY_MAX_STREAMS_PER_IP: '0',
      ...env,
    },
    'gateway',
    options,
  );
}

/**
 * bench/reference/plain-grpc-server.ts: Order and Watch on bare @grpc/grpc-js,
 * with the Node flags of the app it stands for (`as`): cheese-service's for
 * Order, soccer-service's for Watch.
 */
export function startPlainServer(
  ctx: BenchContext,
  section: string,
  env: Record<string, string> = {},
  name = 'plain grpc-js',
  as: AppName = 'cheese-service',
): Promise<Server> {
  return startReference(ctx, section, 'plain-grpc-server.js', name, env, as);
}

/**
 * A reference gateway in front of `cheese`: bench/reference/bare-gateway.ts (the
 * order route on bare Fastify and grpc-js, the floor) or http-gateway.ts
 * (node:http and grpc-js, nothing else).
 */
export function startBareGateway(
  ctx: BenchContext,
  section: string,
  cheese: Server,
  kind: 'fastify' | 'node:http' = 'fastify',
): Promise<Server> {
  return startReference(
    ctx,
    section,
    kind === 'fastify' ? 'bare-gateway.js' : 'http-gateway.js',
    kind === 'fastify' ? 'bare Fastify + grpc-js' : 'node:http + grpc-js',
    { CHEESE_GRPC_URL: `127.0.0.1:${cheese.port}` },
    'gateway',
  );
}

/** One of bench/reference's Node servers, with the Node flags of app `as`, on a free port (PORT). */
async function startReference(
  ctx: BenchContext,
  section: string,
  script: string,
  name: string,
  env: Record<string, string>,
  as: AppName,
): Promise<Server> {
  const port = await freePort();
  const args = [...APPS[as].nodeArgs, benchScript(`reference/${script}`)];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...benchEnv(ctx, section, name), ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return await started(name, child, port);
}

/** One of the talk's Python servers (bench/talk), with stubs generated from the talk's proto. */
export async function startPythonServer(
  script: string,
  args: string[],
  name: string,
): Promise<Server> {
  const port = await freePort();
  const env = { ...process.env };
  // The talk runs in a terminal; unbuffered prints (set on this machine) would cost it more.
  delete env.PYTHONUNBUFFERED;
  const child = spawn('/usr/bin/python3', [script, String(port), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return await started(name, child, port);
}

async function started(name: string, child: ChildProcess, port: number): Promise<Server> {
  // A reference with telemetry prints a line per call: kept as the apps' output is.
  const output = new OutputTail(4000);
  const keep = (d: Buffer) => output.push(d);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + 30_000;
  while ((await portListener(child.pid!, port)) !== 'own') {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start on ${port}:\n${output.text}`);
    }
    await sleep(50);
  }
  return {
    name,
    pid: child.pid!,
    port,
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every server given, in parallel, ignoring the ones never started. */
export async function stopAll(...servers: (Server | undefined)[]): Promise<void> {
  await Promise.all(servers.map((s) => (s ? s.stop() : Promise.resolve())));
}
