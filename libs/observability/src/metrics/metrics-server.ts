import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  Module,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Registry } from 'prom-client';

/** Where the Prometheus text is served. */
export const METRICS_PATH = '/metrics';

/** A probe's answer: 200 when `ok`, else 503, with `body` as JSON. */
export interface ProbeAnswer {
  ok: boolean;
  body: Record<string, unknown>;
}

/**
 * Probe endpoints served beside `/metrics` (kubelet HTTP probes: no process
 * started per probe), by path; each gets the query string. Undefined: no
 * such probe (404).
 */
export type ProbeRoutes = Readonly<
  Record<string, (query: URLSearchParams) => ProbeAnswer | undefined>
>;

/** Injection token of the app's ProbeRoutes (GrpcOperationsModule provides the services'). */
export const PROBE_ROUTES = Symbol('PROBE_ROUTES');

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

/**
 * An HTTP server answering `GET /metrics` (and HEAD) with `registry`'s
 * metrics in the Prometheus text format, and GET/HEAD on each of `probes`;
 * 405 for other methods on them, 404 for any other path. Not listening yet.
 */
export function createMetricsServer(registry: Registry, probes: ProbeRoutes = {}): Server {
  return createServer((req, res) => {
    const [path, query = ''] = (req.url ?? '/').split('?', 2);
    const probe = Object.hasOwn(probes, path) ? probes[path] : undefined;
    if (path !== METRICS_PATH && !probe) {
      res.writeHead(404, TEXT).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...TEXT, allow: 'GET, HEAD' }).end('Method Not Allowed\n');
      return;
    }
    const head = req.method === 'HEAD';
    if (probe) {
      const answer = probe(new URLSearchParams(query));
      if (!answer) {
        res.writeHead(404, TEXT).end('Not Found\n');
        return;
      }
      res.writeHead(answer.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(head ? undefined : JSON.stringify(answer.body));
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(head ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, TEXT);
        res.end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
}

/** The variables MetricsServer reads (GrpcServiceEnv in libs/config). */
export interface MetricsServerEnv {
  METRICS_HOST: string;
  METRICS_PORT: number;
}

/**
 * A gRPC service's metrics endpoint: `http://METRICS_HOST:METRICS_PORT/metrics`
 * (off when METRICS_PORT is 0), and its plaintext probe endpoints (PROBE_ROUTES). It listens before the gRPC server does, so a
 * port already taken stops the start, and keeps answering while the service
 * drains; it closes at the very end of shutdown, dropping idle scraper
 * connections at once rather than waiting for them.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server?: Server;

  constructor(
    private readonly registry: Registry,
    private readonly config: ConfigService<MetricsServerEnv, true>,
    @Optional() @Inject(PROBE_ROUTES) private readonly probes: ProbeRoutes = {},
  ) {}

  /** Where it listens, once it does. */
  get address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.get('METRICS_PORT', { infer: true });
    const host = this.config.get('METRICS_HOST', { infer: true });
    if (port === 0) {
      this.logger.log('metrics endpoint off (METRICS_PORT=0)');
      return;
    }
    const server = createMetricsServer(this.registry, this.probes);
    server.listen(port, host);
    await once(server, 'listening');
    this.server = server;
    const probes = Object.keys(this.probes).join(', ');
    this.logger.log(
      `Prometheus metrics on http://${host}:${port}${METRICS_PATH}${probes ? `; probes ${probes}` : ''}`,
    );
  }

  onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = undefined;
    const closed = once(server, 'close').then(() => undefined);
    server.close();
    server.closeAllConnections();
    return closed;
  }
}

/**
 * The metrics endpoint of a gRPC service (MetricsServer), configured from
 * METRICS_HOST and METRICS_PORT. Needs ObservabilityModule (the registry).
 */
@Module({ providers: [MetricsServer] })
export class MetricsServerModule {}
