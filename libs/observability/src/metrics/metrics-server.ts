import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Registry } from 'prom-client';

/** Where the Prometheus text is served. */
export const METRICS_PATH = '/metrics';

/**
 * An HTTP server answering `GET /metrics` (and HEAD) with `registry`'s
 * metrics in the Prometheus text format; 405 for other methods on it, 404
 * for any other path. Not listening yet.
 */
export function createMetricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('Method Not Allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
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
 * (off when METRICS_PORT is 0). It listens before the gRPC server does, so a
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
    const server = createMetricsServer(this.registry);
    server.listen(port, host);
    await once(server, 'listening');
    this.server = server;
    this.logger.log(`Prometheus metrics on http://${host}:${port}${METRICS_PATH}`);
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
