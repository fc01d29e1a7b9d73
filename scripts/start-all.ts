/**
 * `npm start`: every app as its own process, started in dependency order,
 * each waited for before the next; Ctrl-C stops them all.
 */
import { APPS, AppProcess, gatewayScheme, hasMetricsPort, type AppName } from '#launcher';

const START_ORDER: AppName[] = ['cheese-service', 'soccer-service', 'gateway'];

const running: AppProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => undefined);
  stopping = true;
  const exits: string[] = [];
  for (const app of [...running].reverse()) exits.push(`${app.name} exited ${await app.stop()}`);
  console.log(`All apps stopped (${exits.join(', ')}).`);
  process.exit(code);
}

const portOf = (name: AppName) => Number(process.env[APPS[name].portVar] ?? APPS[name].defaultPort);
// Each service's own default metrics port: one METRICS_PORT for all would collide.
const metricsPortOf = (name: AppName) =>
  hasMetricsPort(name) ? APPS[name].defaultMetricsPort : undefined;
// The gateway dials the ports the services were given, unless told otherwise.
const env = {
  CHEESE_GRPC_URL: process.env.CHEESE_GRPC_URL ?? `localhost:${portOf('cheese-service')}`,
  SOCCER_GRPC_URL: process.env.SOCCER_GRPC_URL ?? `localhost:${portOf('soccer-service')}`,
};

for (const name of START_ORDER) {
  try {
    const app = await AppProcess.start(name, {
      port: portOf(name),
      metricsPort: metricsPortOf(name),
      env,
      stdio: 'inherit',
    });
    app.child.once('exit', (code) => {
      if (stopping) return;
      console.error(`${name} exited (${code}); stopping the others`);
      void stopAll(1);
    });
    running.push(app);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    await stopAll(1);
  }
}

process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

console.log(
  [
    '',
    'All apps are up:',
    ...running.map((app) => `  ${app.name.padEnd(15)} ${APPS[app.name].describe(app.port)}`),
    '',
    'Prometheus metrics:',
    ...running.map((app) => {
      const port = metricsPortOf(app.name) ?? app.port;
      const scheme = app.name === 'gateway' ? gatewayScheme() : 'http';
      return `  ${app.name.padEnd(15)} ${scheme}://localhost:${port}/metrics`;
    }),
    '',
    `Try: curl -s -X POST localhost:${running.at(-1)?.port}/v1/cheese/orders -H 'content-type: application/json' -d '{"type":"BRIE"}'`,
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
