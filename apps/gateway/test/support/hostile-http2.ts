import { connect, constants } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  wholeAnswer,
  type HttpAnswer,
  type HttpRequestOptions,
  type PendingRequest,
  type Transport,
} from './hostile-http.js';

/**
 * HTTP/2 clients for hostile requests (node:http2), to the gateway's TLS
 * listener (ALPN h2): each request on a session of its own, closed once the
 * request is answered or cut, as the HTTP/1.1 ones use a connection each.
 */

/** A request over HTTP/2 whose body the caller writes; `ca`: the listener's CA. */
export function startHttp2Request(
  port: number,
  ca: Buffer,
  options: Omit<HttpRequestOptions, 'body'>,
): PendingRequest {
  const { method = 'GET', path, headers = {}, localAddress, timeoutMs = 30_000 } = options;
  const session = connect(`https://127.0.0.1:${port}`, {
    // Over a TLS socket of our own: node:http2 does not take a source address.
    createConnection: () =>
      tlsConnect({
        socket: netConnect({ host: '127.0.0.1', port, localAddress }),
        ca,
        servername: 'localhost',
        ALPNProtocols: ['h2'],
      }),
  });
  // What goes wrong with the session reaches the stream too (its 'error', 'close').
  session.on('error', () => undefined);
  session.setTimeout(timeoutMs, () =>
    session.destroy(new Error(`${method} ${path}: no traffic in ${timeoutMs} ms`)),
  );
  const stream = session.request({ ':method': method, ':path': path, ...headers });
  stream.on('error', () => undefined);
  stream.on('close', () => session.close());
  const response = new Promise<Awaited<PendingRequest['response']>>((resolve, reject) => {
    stream.once('response', (head) =>
      resolve({ status: Number(head[':status']), headers: head, body: stream }),
    );
    stream.once('error', reject);
    stream.once('close', () =>
      reject(new Error(`${method} ${path}: stream closed unanswered (code ${stream.rstCode})`)),
    );
  });
  response.catch(() => undefined);
  return {
    body: stream,
    response,
    cut: () => {
      stream.close(constants.NGHTTP2_CANCEL);
      session.close();
    },
  };
}

/** One request over HTTP/2, its whole answer. */
export function http2Request(
  port: number,
  ca: Buffer,
  options: HttpRequestOptions,
): Promise<HttpAnswer> {
  const { body, ...head } = options;
  return wholeAnswer(startHttp2Request(port, ca, head), body);
}

/** The gateway's TLS listener over HTTP/2, trusting `ca`. */
export function overHttp2(ca: Buffer): Transport {
  return {
    name: 'HTTP/2',
    request: (port, options) => http2Request(port, ca, options),
    start: (port, options) => startHttp2Request(port, ca, options),
  };
}
