import type { Logger } from 'pino';
import type { Options } from 'pino-http';
import { clientAddressOf } from '../http/http-telemetry.js';

/** Probes and scrapes: logged at debug level, or they would drown the rest. */
const INFRASTRUCTURE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * pino-http's options for the gateway: one line per HTTP request when its
 * response ends, with method, URL, status, duration, request id, the TCP
 * peer (`req.remoteAddress`) and, when that is a trusted proxy, the client
 * it forwarded for (`clientAddress`), and never a header (they may hold API
 * keys or tokens).
 */
export function httpLogOptions(logger: Logger): Options {
  return {
    // No genReqId: the request already has Fastify's id (requestIdOf), which pino-http uses.
    logger,
    customAttributeKeys: { reqId: 'reqId', responseTime: 'durationMs' },
    quietReqLogger: true,
    customLogLevel: (req, res, err) => {
      if (err || res.statusCode >= 500) return 'error';
      if (INFRASTRUCTURE_PATHS.has((req.url ?? '').split('?')[0])) return 'debug';
      return res.statusCode >= 400 ? 'warn' : 'info';
    },
    // Called again when the line is written (the request is bound to the
    // logger before the hook that resolves its client ran): only a client
    // behind a trusted proxy costs a field.
    customProps: (req) => {
      const client = clientAddressOf(req);
      return client !== undefined && client !== req.socket?.remoteAddress
        ? { clientAddress: client }
        : {};
    },
    customSuccessMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    serializers: {
      // pino-http hands these its serialized request/response (pino-std-serializers).
      req: (req: { method?: string; url?: string; remoteAddress?: string }) => ({
        method: req.method,
        url: req.url,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
