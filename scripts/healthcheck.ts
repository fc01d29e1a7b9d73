/**
 * The containers' health check (Dockerfile HEALTHCHECK, the Kubernetes exec
 * probes of the prod overlay): exit 0 when the app is healthy, 1 otherwise,
 * with one line on stderr saying why.
 *
 *   node dist/scripts/healthcheck.js cheese-service   # gRPC health '' on CHEESE_GRPC_PORT
 *   node dist/scripts/healthcheck.js soccer-service   # the same on SOCCER_GRPC_PORT
 *   node dist/scripts/healthcheck.js gateway          # GET /healthz on GATEWAY_HTTP_PORT
 *
 * Options: --target host:port (default localhost, a name development certificates
 * carry, and the port in the app's port variable),
 * --service NAME (gRPC health service of a service, default '' = the whole server),
 * --timeout-ms N (default 2000).
 *
 * gRPC goes through the same credentials as the gateway (GRPC_TLS_CA, and
 * GRPC_TLS_CLIENT_CERT/KEY under mutual TLS; GRPC_TLS_SERVER_NAME for a
 * certificate without the probe's address). Health needs no token. The
 * gateway is asked over HTTPS when it serves it (GATEWAY_TLS_CERT), without
 * checking its certificate: this is a liveness check of the local process.
 *
 * It imports the three modules it needs, not `#grpc`: a probe runs every
 * few seconds, and the whole library costs ~0.5 s of CPU to load.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { APPS, type AppName } from '../libs/launcher/src/apps.js';
import {
  grpcChannelCredentials,
  grpcTlsChannelOptions,
} from '../libs/grpc/src/grpc-credentials.js';
import { checkHealth, createHealthClient } from '../libs/grpc/src/health-client.js';

const USAGE =
  `usage: node dist/scripts/healthcheck.js <${Object.keys(APPS).join('|')}> ` +
  '[--target host:port] [--service name] [--timeout-ms ms]';

/** Why the app is not healthy, or undefined when it is. */
type Verdict = string | undefined;

function isAppName(name: string | undefined): name is AppName {
  return name !== undefined && Object.hasOwn(APPS, name);
}

async function checkGrpc(target: string, service: string, timeoutMs: number): Promise<Verdict> {
  const env = process.env;
  const client = createHealthClient(target, grpcChannelCredentials(env), {
    ...grpcTlsChannelOptions(env),
    'grpc.enable_retries': 0,
  });
  try {
    const status = await checkHealth(client, service, timeoutMs);
    return status === 'SERVING' ? undefined : status;
  } catch (err) {
    const { details, message } = err as { details?: string; message: string };
    const hint =
      env.GRPC_TLS_CERT && !env.GRPC_TLS_CA
        ? ' (the service serves TLS: give the probe GRPC_TLS_CA, and the client certificate under mTLS)'
        : '';
    return `${details || message}${hint}`;
  } finally {
    client.close();
  }
}

function checkHttp(target: string, timeoutMs: number): Promise<Verdict> {
  const at = target.lastIndexOf(':');
  const https = Boolean(process.env.GATEWAY_TLS_CERT);
  const request = https ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      {
        host: target.slice(0, at).replace(/^\[(.*)\]$/, '$1'),
        port: Number(target.slice(at + 1)),
        path: '/healthz',
        timeout: timeoutMs,
        ...(https ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.once('error', (err) => resolve(err.message));
    req.end();
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      service: { type: 'string', default: '' },
      'timeout-ms': { type: 'string', default: '2000' },
    },
  });
  const app = positionals[0];
  const timeoutMs = Number(values['timeout-ms']);
  if (positionals.length !== 1 || !isAppName(app) || !(timeoutMs > 0)) {
    console.error(USAGE);
    return 2;
  }
  const { portVar, defaultPort } = APPS[app];
  const port = Number(process.env[portVar] || defaultPort);
  const target = values.target ?? `localhost:${port}`;
  const verdict =
    app === 'gateway'
      ? await checkHttp(target, timeoutMs)
      : await checkGrpc(target, values.service, timeoutMs);
  if (verdict === undefined) return 0;
  const what =
    app === 'gateway'
      ? `GET ${target}/healthz`
      : `${target} health ${JSON.stringify(values.service)}`;
  console.error(`${app} unhealthy: ${what}: ${verdict}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A bad certificate file, a bad target: unhealthy, and say why.
    console.error(`healthcheck failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
