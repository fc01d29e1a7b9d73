import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { FastifyInstance } from 'fastify';

/** Methods whose body Fastify never reads (its `bodyless` ones). */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'TRACE']);

/**
 * What the HTTP/1.1 parser and Fastify check of a request, for requests over
 * HTTP/2 (the TLS listener), where they do not:
 *
 * - Request headers over `maxHeaderBytes` are 431, as over HTTP/1.1 (where
 *   Node's parser refuses them, http-hardening's answerClientError). Node's
 *   HTTP/2 server ignores `maxHeaderSize` and does not hold clients to the
 *   SETTINGS_MAX_HEADER_LIST_SIZE it sends; it refuses only past 64 KiB.
 *   Measured as that setting is (RFC 9113 §6.5.2): name, value and 32 bytes
 *   per field, pseudo-headers included.
 * - A body with no Content-Type is 415, as over HTTP/1.1. HTTP/2 needs no
 *   Content-Length for a body (its frames end it), and Fastify, which sees a
 *   body only by Content-Length or Transfer-Encoding, skips reading it and
 *   runs the route as if none had come. Whether one came is known from its
 *   first byte, or the stream's end before any (node:http2, for one, ends a
 *   request with no body by an empty DATA frame).
 *
 * Installed on the TLS listener only, the one that speaks HTTP/2. The body
 * check runs after stream-body routes got their default type (onRequest).
 */
export function installHttp2RequestChecks(fastify: FastifyInstance, maxHeaderBytes: number): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const req = request.raw as IncomingMessage | Http2ServerRequest;
    if (isHttp2(req) && headerListSize(req) > maxHeaderBytes) {
      return done(clientError(431, `request headers over ${maxHeaderBytes} bytes`));
    }
    done();
  });
  // After Fastify's body parsing: it read no body here, so the stream is this hook's to read.
  fastify.addHook('preValidation', (request, _reply, done) => {
    const req = request.raw as IncomingMessage | Http2ServerRequest;
    if (
      !isHttp2(req) ||
      req.headers['content-type'] !== undefined ||
      req.headers['content-length'] !== undefined ||
      BODYLESS_METHODS.has(req.method)
    ) {
      return done();
    }
    bodyFollows(req).then(
      (body) => done(body ? clientError(415, 'Unsupported Media Type') : undefined),
      (err: Error) => done(err),
    );
  });
}

function isHttp2(req: IncomingMessage | Http2ServerRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/** The request's header list size as HTTP/2 defines it (RFC 9113 §6.5.2). */
function headerListSize(req: Http2ServerRequest): number {
  let size = 0;
  for (const field of req.rawHeaders) size += Buffer.byteLength(field);
  return size + 32 * (req.rawHeaders.length / 2);
}

/** Whether a byte of body comes before the request's end. */
async function bodyFollows(req: Http2ServerRequest): Promise<boolean> {
  if (req.stream.endAfterHeaders) return false;
  // Stopping at the first byte leaves the request open: the answer goes on its stream.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if (chunk.length > 0) return true;
  }
  return false;
}

/** An error Fastify answers with its status, in the API's body (Nest's exception filter). */
function clientError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode });
}
