import { trace } from '@opentelemetry/api';
import { pino, stdTimeFunctions, type Logger } from 'pino';
import type { LogLevel } from '#config';
import { currentRequestId } from '../request-context.js';

/**
 * The process's root pino logger: JSON lines (one object per line, ISO time,
 * the app's name) or, when stdout is a terminal, pino-pretty. Every line
 * written while a request or RPC is handled carries its `reqId` (and
 * `traceId` when tracing is on).
 */
export function createAppLogger(app: string, level: LogLevel): Logger {
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
