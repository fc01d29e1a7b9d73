import type { Server } from 'node:http';
import type { Http2SecureServer, Http2Session } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, type INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { closeWithinGrace, onShutdownSignal } from '#grpc';
import type { GatewayEnv } from './config/gateway.env.js';
import { ShutdownState } from './health/shutdown-state.js';
import { OpenStreams } from './http-streaming/open-streams.js';

/** While closing, how often keep-alive connections that went idle are closed. */
const IDLE_REAP_INTERVAL_MS = 50;

const logger = new Logger('Shutdown');

export interface DrainOptions {
  /** From the signal, how long requests in flight get before their connections are cut. */
  graceMs: number;
  /** From the signal, how long the gateway goes on serving with /readyz at 503 first. */
  delayMs: number;
  /** From the signal, how long uploads in flight may hold the cut back (when above graceMs). */
  uploadGraceMs: number;
}

/**
 * Drains the gateway on the first SIGTERM or SIGINT, then exits 0:
 *
 * 1. `/readyz` answers 503 (ShutdownState); for GATEWAY_SHUTDOWN_DELAY_MS
 *    everything else is still served, so load balancers stop sending first;
 * 2. `app.close()`: new requests on open connections get 503 with
 *    `Connection: close`, open SSE streams get their last event and end
 *    (OpenStreams), the server stops accepting connections and closes idle
 *    ones, and requests in flight (orders, uploads) run to their end; then
 *    the gRPC clients close;
 * 3. SHUTDOWN_GRACE_MS after the signal, connections still open are cut;
 *    while uploads are in flight, that waits until they are answered, up to
 *    SHUTDOWN_UPLOAD_GRACE_MS after the signal.
 *
 * The exit code is 1 only when closing failed, or still hangs 5 s after the
 * cut. The signals are handled by `onShutdownSignal`: a second SIGINT
 * (Ctrl-C again) skips the waiting; further SIGTERMs are ignored.
 */
export function closeOnSignal(app: INestApplication): void {
  const config = app.get<ConfigService<GatewayEnv, true>>(ConfigService);
  const graceMs = config.get('SHUTDOWN_GRACE_MS', { infer: true });
  const options: DrainOptions = {
    graceMs,
    delayMs: Math.min(config.get('GATEWAY_SHUTDOWN_DELAY_MS', { infer: true }), graceMs),
    uploadGraceMs: config.get('SHUTDOWN_UPLOAD_GRACE_MS', { infer: true }),
  };
  trackHttp2Sessions(app.getHttpServer() as Server | Http2SecureServer);
  const drain = new HttpDrain(app, options);
  onShutdownSignal({
    drain: (signal) => drain.run(signal),
    force: () => drain.force(),
    forcing: 'closing the connections still open',
    logger,
  });
}

/** The open HTTP/2 sessions of each HTTP/2 listener, for HttpDrain.force. */
const http2Sessions = new WeakMap<object, Set<Http2Session>>();

function trackHttp2Sessions(server: Server | Http2SecureServer): void {
  if ('closeAllConnections' in server) return; // HTTP/1.1 only
  const sessions = new Set<Http2Session>();
  http2Sessions.set(server, sessions);
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
}

/** One shutdown of the gateway's HTTP side (see closeOnSignal). */
export class HttpDrain {
  private readonly skipDelay = new AbortController();

  constructor(
    private readonly app: INestApplication,
    private readonly options: DrainOptions,
  ) {}

  /** Cuts every connection still open; the drain then finishes at once. */
  force(): void {
    this.skipDelay.abort();
    const server = this.app.getHttpServer() as Server | Http2SecureServer;
    if ('closeAllConnections' in server) server.closeAllConnections();
    // The HTTPS listener's HTTP/2 sessions (Fastify's close sent them GOAWAY).
    for (const session of http2Sessions.get(server) ?? []) session.destroy();
  }

  /** Drains and closes the app; resolves with the exit code. */
  async run(reason: string): Promise<number> {
    const { graceMs, delayMs, uploadGraceMs } = this.options;
    const openStreams = this.app.get(OpenStreams);
    const started = performance.now();
    this.app.get(ShutdownState).begin();
    logger.log(
      `${reason}: /readyz 503, serving ${delayMs} ms more, then draining (grace ${graceMs} ms)`,
    );
    let reaper: NodeJS.Timeout | undefined;
    try {
      await sleep(delayMs, undefined, { signal: this.skipDelay.signal }).catch(() => undefined);
      // server.close() closes the idle keep-alive connections of that moment
      // only; one whose request finishes later would hold the close up until
      // its keep-alive timeout. Close each as soon as it is idle.
      const server = this.app.getHttpServer() as Server;
      reaper = setInterval(() => server.closeIdleConnections(), IDLE_REAP_INTERVAL_MS);
      return await closeWithinGrace(() => this.app.close(), {
        graceMs,
        onGraceOver: () => this.force(),
        cutting: 'closing the connections still open',
        started,
        logger,
        hold: { what: 'upload', inFlight: () => openStreams.uploadsInFlight, maxMs: uploadGraceMs },
      });
    } finally {
      clearInterval(reaper);
    }
  }
}
