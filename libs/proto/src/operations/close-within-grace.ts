import type { Logger } from '@nestjs/common';

/** After the grace period, how long the rest of closing (Nest's hooks) may take. */
const CLOSE_TIMEOUT_AFTER_GRACE_MS = 5_000;

export interface CloseWithinGraceOptions {
  /** How long what is in flight gets before `onGraceOver` cuts it. */
  graceMs: number;
  /** Cancels the calls or closes the connections still open. */
  onGraceOver: () => void;
  /** What onGraceOver does, for the log: 'cancelling the calls still open'. */
  cutting: string;
  /** What `graceMs` is counted from (performance.now()). */
  started: number;
  logger: Logger;
}

/**
 * The end of every app's graceful shutdown: runs `close` (the app's
 * `close()`), cuts what is still open once the grace period is over, and
 * resolves with the exit code: 0 when closed, 1 when closing failed or
 * still hangs CLOSE_TIMEOUT_AFTER_GRACE_MS later.
 */
export async function closeWithinGrace(
  close: () => Promise<void>,
  { graceMs, onGraceOver, cutting, started, logger }: CloseWithinGraceOptions,
): Promise<number> {
  const elapsed = performance.now() - started;
  const grace = setTimeout(
    () => {
      logger.warn(`grace period of ${graceMs} ms over: ${cutting}`);
      onGraceOver();
    },
    Math.max(0, graceMs - elapsed),
  );
  let hung: NodeJS.Timeout | undefined;
  const closeHung = new Promise<number>((resolve) => {
    hung = setTimeout(
      () => {
        logger.error('shutdown hooks did not finish in time; exiting anyway');
        resolve(1);
      },
      Math.max(0, graceMs + CLOSE_TIMEOUT_AFTER_GRACE_MS - elapsed),
    );
  });
  const closed = close().then(
    () => {
      logger.log(`stopped in ${Math.round(performance.now() - started)} ms`);
      return 0;
    },
    (err: unknown) => {
      logger.error(
        `shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      return 1;
    },
  );
  try {
    return await Promise.race([closed, closeHung]);
  } finally {
    clearTimeout(grace);
    clearTimeout(hung);
  }
}
