import { trace } from '@opentelemetry/api';
import { pino, symbols, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from '#config';
import { currentRequestId } from '../request-context.js';
import { batchedStdout } from './batched-stdout.js';
import { cachedIsoTime } from './iso-time.js';

/** What the mixin adds when it has nothing to add: the line is written as it was given. */
const NOTHING: Readonly<Record<string, never>> = Object.freeze({});

/** The root loggers made so far, by app, level and tracing: one per process in production. */
const made = new Map<string, Logger>();

/**
 * The process's root pino logger: JSON lines (one object per line, ISO time,
 * the app's name) or, when stdout is a terminal, pino-pretty. Every line
 * written while a request or RPC is handled carries its `reqId`, and
 * `traceId` when `tracing` is on. Made once: the start-up (startApp, before
 * Nest exists) and the app's AppLoggerModule get the same logger, so the
 * output is one stream of JSON lines from the first.
 */
export function createAppLogger(app: string, level: LogLevel, tracing = false): Logger {
  const key = `${app}/${level}/${tracing}`;
  let logger = made.get(key);
  if (!logger) {
    logger = newAppLogger(app, level, tracing);
    made.set(key, logger);
  }
  return logger;
}

function newAppLogger(app: string, level: LogLevel, tracing: boolean): Logger {
  const options: LoggerOptions = {
    level,
    base: { app, pid: process.pid },
    timestamp: cachedIsoTime(),
    mixin: (fields, _level, logger) => {
      const traceId = tracing ? activeTraceId() : undefined;
      // The line names its request itself (the RPC lines), or its logger has
      // it bound (pino-http's request loggers).
      const reqId = 'reqId' in fields || hasBoundRequestId(logger) ? undefined : currentRequestId();
      if (reqId === undefined) return traceId === undefined ? NOTHING : { traceId };
      return traceId === undefined ? { reqId } : { reqId, traceId };
    },
    // pino's default merge copies every field of the line into the mixin's
    // object; a line the mixin adds nothing to is taken as it is.
    mixinMergeStrategy: (line, mixed) => (mixed === NOTHING ? line : Object.assign(mixed, line)),
  };
  if (process.stdout.isTTY) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  // JSON lines: a turn's lines in one write, not a write each through the thread pool.
  return pino(options, batchedStdout());
}

function activeTraceId(): string | undefined {
  const span = trace.getActiveSpan()?.spanContext();
  return span && trace.isSpanContextValid(span) ? span.traceId : undefined;
}

/** A child logger with `reqId` among its bindings (pino keeps them as a JSON fragment). */
function hasBoundRequestId(logger: Logger): boolean {
  return (logger as unknown as Record<symbol, string>)[symbols.chindingsSym].includes('"reqId":');
}
