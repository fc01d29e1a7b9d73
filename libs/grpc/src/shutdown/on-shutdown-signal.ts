import type { Logger } from '@nestjs/common';

export interface ShutdownSignalOptions {
  /** The app's graceful close, run once, from the first signal; resolves with the exit code. */
  drain: (signal: NodeJS.Signals) => Promise<number>;
  /** Skips the rest of the grace period: cuts what is still open at once. */
  force: () => void;
  /** What `force` does, for the log: 'cancelling the calls still open'. */
  forcing: string;
  logger: Logger;
}

/**
 * The shutdown signal protocol of every app, services and gateway alike:
 * the first SIGTERM or SIGINT starts `drain`, and the process exits with the
 * code it resolves with (0, or 1 when closing failed or hung). A second
 * SIGINT (Ctrl-C again) runs `force`; further SIGTERMs are logged and
 * ignored (a launcher may send one after the terminal's SIGINT).
 *
 * Nest's `enableShutdownHooks()` must not be used beside it: it re-raises
 * the signal, so the process would end "on SIGTERM" instead of with a code.
 */
export function onShutdownSignal({ drain, force, forcing, logger }: ShutdownSignalOptions): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      if (signal === 'SIGINT') {
        logger.warn(`SIGINT again: ${forcing}`);
        force();
      } else {
        logger.log(`${signal} ignored: already shutting down`);
      }
      return;
    }
    draining = true;
    void drain(signal).then((code) => process.exit(code));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
