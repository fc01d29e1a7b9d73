import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Options } from 'pino-http';
import { clientAddressOf } from '../http/http-telemetry.js';

/** Probes and scrapes: logged at debug level, or they would drown the rest. */
const INFRASTRUCTURE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * pino-http's options for the gateway: one line per HTTP request when its
 * response ends, with method, URL, status, duration, request id and the
 * client's address (`remoteAddress`: the forwarded one behind a trusted
 * proxy, which is then `peerAddress`), and never a header (they may hold API
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
    customSuccessMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    serializers: {
      // pino-http hands these its serialized request/response (pino-std-serializers).
      req: (req: {
        method?: string;
        url?: string;
        remoteAddress?: string;
        raw: IncomingMessage;
      }) => {
        const client = clientAddressOf(req.raw) ?? req.remoteAddress;
        return {
          method: req.method,
          url: req.url,
          remoteAddress: client,
          ...(client !== req.remoteAddress ? { peerAddress: req.remoteAddress } : {}),
        };
      },
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
