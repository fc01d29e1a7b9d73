import { Logger, type INestMicroservice } from '@nestjs/common';
import { closeWithinGrace } from '../shutdown/close-within-grace.js';
import { onShutdownSignal } from '../shutdown/on-shutdown-signal.js';
import { GrpcOperations } from './grpc-operations.js';

const logger = new Logger('Shutdown');

/**
 * Starts serving `app` (a Nest gRPC microservice built with grpcServerOptions
 * and GrpcOperationsModule), turns health SERVING, and handles SIGTERM and
 * SIGINT with a graceful shutdown (`shutdownGracefully`) ending in exit code
 * 0, through `onShutdownSignal`: a second SIGINT (Ctrl-C again) skips the
 * rest of the grace period, further SIGTERMs are ignored.
 */
export async function serveUntilSignal(app: INestMicroservice): Promise<void> {
  const operations = app.get(GrpcOperations);
  // The port accepts connections (grpc-js binds first) before listen() resolves:
  // a signal in between is handled too, once listen() has settled.
  const listening = app.listen().then(() => operations.serving());

  onShutdownSignal({
    drain: (signal) => listening.catch(() => undefined).then(() => shutdownGracefully(app, signal)),
    force: () => operations.forceShutdown(),
    forcing: 'cancelling the calls still open',
    logger,
  });
  await listening;
}

/**
 * The graceful shutdown, in order:
 * 1. health NOT_SERVING for '' and every service; Watch calls get it, then end;
 * 2. the shutdown signal aborts: endless streams end themselves (UNAVAILABLE);
 * 3. app.close(): grpc-js tryShutdown stops listening and sends GOAWAY, so new
 *    calls are refused while the calls in flight run to their end;
 * 4. after SHUTDOWN_GRACE_MS, the calls still open are cancelled (forceShutdown),
 *    unless work the app holds the shutdown for (`holdShutdownFor`: uploads) is
 *    still in flight: then once it is done, or at its own bound;
 * 5. Nest's shutdown hooks run (ffmpeg children reaped, timers cleared).
 * Resolves with the exit code: 0, or 1 when closing failed or hung.
 */
export async function shutdownGracefully(app: INestMicroservice, reason: string): Promise<number> {
  const operations = app.get(GrpcOperations);
  const graceMs = operations.options.shutdownGraceMs;
  const started = performance.now();
  logger.log(`${reason}: NOT_SERVING, refusing new calls, draining (grace ${graceMs} ms)`);
  operations.beginShutdown();

  return closeWithinGrace(() => app.close(), {
    graceMs,
    onGraceOver: () => operations.forceShutdown(),
    cutting: 'cancelling the calls still open',
    started,
    logger,
    hold: operations.shutdownHold,
  });
}
