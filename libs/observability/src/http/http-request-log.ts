import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Level, Logger } from 'pino';
import { clientAddressOf } from './http-telemetry.js';

/** Probes and scrapes: logged at debug level, or they would drown the rest. */
const INFRASTRUCTURE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line per HTTP request of a Fastify app when its response ends
 * (or the client went away): the line pino-http wrote before, field for
 * field: request id, method, URL, the TCP peer (`req.remoteAddress`) and,
 * when that is a trusted proxy, the client it forwarded for
 * (`clientAddress`), status, duration, never a header (they may hold API
 * keys or tokens). `error` for a 5xx or a response that failed, `debug` for
 * probes and scrapes, `warn` for a 4xx, else `info`. A Fastify hook rather
 * than pino-http as Nest middleware: that cost two child loggers, a
 * middleware chain and three listeners per request, a tenth of the
 * gateway's CPU per order.
 */
export function installHttpRequestLog(app: FastifyInstance, logger: Logger): void {
  app.addHook('onRequest', (request, reply, done) => {
    const started = Date.now();
    const { id } = request;
    // A response closes once: `on` spares the wrapper and removal of `once`.
    reply.raw.on('close', () => logRequest(logger, id, request.raw, reply.raw, started));
    done();
  });
}

function logRequest(
  logger: Logger,
  reqId: string,
  req: IncomingMessage,
  res: ServerResponse,
  started: number,
): void {
  const status = res.statusCode;
  const failed = res.errored ?? undefined;
  const level: Level =
    failed || status >= 500
      ? 'error'
      : INFRASTRUCTURE_PATHS.has((req.url ?? '').split('?')[0])
        ? 'debug'
        : status >= 400
          ? 'warn'
          : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const remoteAddress = req.socket?.remoteAddress;
  const client = clientAddressOf(req);
  const line: Record<string, unknown> = {
    reqId,
    req: { method: req.method, url: req.url, remoteAddress },
  };
  if (client !== undefined && client !== remoteAddress) line.clientAddress = client;
  line.res = { statusCode: status };
  if (level === 'error') line.err = failed ?? new Error(`failed with status code ${status}`);
  line.durationMs = Date.now() - started;
  logger[level](line, `${req.method} ${req.url} ${status}`);
}
