import type { Logger } from '@nestjs/common';

/** After the cut, how long the rest of closing (Nest's hooks) may take. */
const CLOSE_TIMEOUT_AFTER_CUT_MS = 5_000;

/** While work holds the shutdown past its grace period, how often it is looked at. */
const HOLD_POLL_MS = 200;

/**
 * Work worth waiting for past the grace period, up to a bound of its own:
 * uploads, which take minutes and cannot be resumed, where everything else
 * takes seconds (SHUTDOWN_UPLOAD_GRACE_MS).
 */
export interface DrainHold {
  /** What is waited for, for the log: 'upload'. */
  what: string;
  /** How many are in flight now. */
  inFlight(): number;
  /** From the start of the shutdown, how long they may hold it at most. */
  maxMs: number;
}

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
  /** Holds the cut back past `graceMs` while some of this is in flight, up to its `maxMs`. */
  hold?: DrainHold;
}

/**
 * The end of every app's graceful shutdown: runs `close` (the app's
 * `close()`), cuts what is still open once the grace period is over (or,
 * while `hold` has work in flight, once that is done or its bound is
 * reached), and resolves with the exit code: 0 when closed, 1 when closing
 * failed or still hangs CLOSE_TIMEOUT_AFTER_CUT_MS after the cut.
 */
export async function closeWithinGrace(
  close: () => Promise<void>,
  options: CloseWithinGraceOptions,
): Promise<number> {
  const { graceMs, onGraceOver, cutting, started, logger, hold } = options;
  const since = () => performance.now() - started;
  let timer: NodeJS.Timeout | undefined;
  let resolveHung!: (code: number) => void;
  const closeHung = new Promise<number>((resolve) => (resolveHung = resolve));

  const cut = () => {
    onGraceOver();
    timer = setTimeout(() => {
      logger.error('shutdown hooks did not finish in time; exiting anyway');
      resolveHung(1);
    }, CLOSE_TIMEOUT_AFTER_CUT_MS);
  };
  const held = () => hold !== undefined && hold.inFlight() > 0 && since() < hold.maxMs;
  const holdOn = () => {
    if (held()) {
      timer = setTimeout(holdOn, HOLD_POLL_MS);
      return;
    }
    logger.warn(`${hold!.what}s held the shutdown for ${Math.round(since())} ms: ${cutting}`);
    cut();
  };
  const graceOver = () => {
    if (held()) {
      logger.warn(
        `grace period of ${graceMs} ms over: waiting for ${hold!.inFlight()} ${hold!.what}(s) in flight, up to ${hold!.maxMs} ms from the signal`,
      );
      holdOn();
      return;
    }
    logger.warn(`grace period of ${graceMs} ms over: ${cutting}`);
    cut();
  };
  timer = setTimeout(graceOver, Math.max(0, graceMs - since()));

  const closed = close().then(
    () => {
      logger.log(`stopped in ${Math.round(since())} ms`);
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
    clearTimeout(timer);
  }
}
