/**
 * Node flags of soccer-service. A 1 MiB young generation keeps memory flat
 * under streams: frame and upload buffers die young, and a small nursery
 * collects them (and frees their external memory) after every MiB instead of
 * letting tens of MiB of dead buffers pile up. Measured on a 200 MB upload:
 * peak RSS 192 -> 129 MiB, no loss of throughput.
 */
const STREAMING_NODE_ARGS = ['--max-semi-space-size=1'] as const;

/**
 * Node flags of cheese-service, which serves unary calls of a few bytes: no
 * big buffers to free early, while a 1 MiB nursery collects every few dozen
 * calls and promotes the objects of the calls in flight, which the old
 * generation then has to collect. 8 MiB took its CPU per Order from 83 to
 * 76 µs (16 in flight, medians of 5 alternating rounds; docs/benchmarks.md).
 */
const UNARY_NODE_ARGS = ['--max-semi-space-size=8'] as const;

/**
 * Node flags of the gateway, which does both: many small requests, whose
 * objects an 8 MiB young generation lets die young, and uploads and streams,
 * whose dead buffers must still be freed early. V8 starts a young collection
 * for buffers only once the young generation holds twice its default
 * capacity of them: 128 MB on Node 24, above the 64 MB at which a full
 * collection frees them instead. Capping that default at 2 MB starts one after
 * every 8 MB of buffers. 8 MiB alone took a 1 GiB upload's peak from 180 to
 * 241 MB; with the cap it was 174 MB (178 at 1 MiB), and the gateway used
 * ~15 % less CPU per order (docs/performance-investigations.md).
 */
const GATEWAY_NODE_ARGS = [
  '--max-semi-space-size=8',
  '--scavenger-max-new-space-capacity-mb=2',
] as const;

/** The gateway's scheme: HTTPS once its listener has a certificate (GATEWAY_TLS_CERT). */
export function gatewayScheme(): 'http' | 'https' {
  return process.env.GATEWAY_TLS_CERT ? 'https' : 'http';
}

/**
 * The apps, the entry point each runs and its Node flags. package.json's `start:<app>`
 * scripts, the containers, `npm start` and the e2e tests all run exactly
 * these (a unit test keeps package.json in step).
 */
export const APPS = {
  'cheese-service': {
    entry: 'dist/apps/cheese-service/src/main.js',
    nodeArgs: UNARY_NODE_ARGS,
    portVar: 'CHEESE_GRPC_PORT',
    defaultPort: 4000,
    defaultMetricsPort: 9400,
    describe: (port: number) => `gRPC  localhost:${port}  cheesefarm.CheeseService`,
  },
  'soccer-service': {
    entry: 'dist/apps/soccer-service/src/main.js',
    nodeArgs: STREAMING_NODE_ARGS,
    portVar: 'SOCCER_GRPC_PORT',
    defaultPort: 4001,
    defaultMetricsPort: 9401,
    describe: (port: number) => `gRPC  localhost:${port}  stream.Soccer`,
  },
  gateway: {
    entry: 'dist/apps/gateway/src/main.js',
    nodeArgs: GATEWAY_NODE_ARGS,
    portVar: 'GATEWAY_HTTP_PORT',
    defaultPort: 3000,
    describe: (port: number) => `HTTP  ${gatewayScheme()}://localhost:${port}/`,
  },
} as const;

export type AppName = keyof typeof APPS;

/** The apps with a metrics endpoint of their own (METRICS_PORT); the gateway's is its /metrics. */
export type MetricsAppName = {
  [K in AppName]: (typeof APPS)[K] extends { defaultMetricsPort: number } ? K : never;
}[AppName];

export function hasMetricsPort(name: AppName): name is MetricsAppName {
  return 'defaultMetricsPort' in APPS[name];
}
