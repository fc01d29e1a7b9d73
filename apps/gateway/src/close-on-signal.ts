import { Logger, type INestApplication } from '@nestjs/common';

const logger = new Logger('Shutdown');

/**
 * Closes the app on the first SIGTERM or SIGINT (its shutdown hooks end the
 * open streams and cancel their gRPC calls) and exits 0. Used instead of
 * Nest's enableShutdownHooks(), which re-raises the signal: a launcher that
 * follows the terminal's SIGINT with a SIGTERM would then see the process
 * die "on SIGTERM" or "on SIGINT" depending on which came first. Later
 * signals are ignored while closing.
 */
export function closeOnSignal(app: INestApplication): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal}: closing`);
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
