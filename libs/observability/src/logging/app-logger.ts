import { trace } from '@opentelemetry/api';
import { pino, stdTimeFunctions, type Logger } from 'pino';
import type { LogLevel } from '#config';
import { currentRequestId } from '../request-context.js';

/** The root loggers made so far, by app and level: one per process in production. */
const made = new Map<string, Logger>();

/**
 * The process's root pino logger: JSON lines (one object per line, ISO time,
 * the app's name) or, when stdout is a terminal, pino-pretty. Every line
 * written while a request or RPC is handled carries its `reqId` (and
 * `traceId` when tracing is on). Made once: the start-up (startApp, before
 * Nest exists) and the app's AppLoggerModule get the same logger, so the
 * output is one stream of JSON lines from the first.
 */
export function createAppLogger(app: string, level: LogLevel): Logger {
  const key = `${app}/${level}`;
  let logger = made.get(key);
  if (!logger) {
    logger = newAppLogger(app, level);
    made.set(key, logger);
  }
  return logger;
}

function newAppLogger(app: string, level: LogLevel): Logger {
  return pino({
    level,
    base: { app, pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    mixin: (fields, _level, logger) => {
      const span = trace.getActiveSpan()?.spanContext();
      const traceId = span && trace.isSpanContextValid(span) ? { traceId: span.traceId } : {};
      // pino-http's request loggers have the id bound already.
      if ('reqId' in fields || 'reqId' in logger.bindings()) return traceId;
      const reqId = currentRequestId();
      return reqId ? { reqId, ...traceId } : traceId;
    },
    ...(process.stdout.isTTY
      ? {
          transport: {
            target: 'pino-pretty',
            options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' },
          },
        }
      : {}),
  });
}
