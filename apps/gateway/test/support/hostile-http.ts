import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * HTTP/1.1 clients for hostile requests: node:http where it lets the test
 * say what it wants, raw bytes on a socket where it does not (bytes that are
 * not HTTP, headers trickled in, a body cut off).
 */

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpRequestOptions {
  method?: string;
  /** Sent as is: the test escapes (or does not escape) it. */
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | Readable;
  /** Source address (a 127.x.y.z of its own): whom per-address limits count it against. */
  localAddress?: string;
  timeoutMs?: number;
}

/** A request under way: its body open to writes, its answer to come. */
export interface PendingRequest {
  /** The request body (back-pressure as usual: `write` false, then 'drain'). */
  body: Writable;
  /** The answer's head, once it is in; its body readable as it comes. */
  response: Promise<{ status: number; headers: IncomingHttpHeaders; body: Readable }>;
  /**
   * Cuts the request off where it is: HTTP/1.1 drops the connection, HTTP/2
   * resets the stream (CANCEL). Also what releases an answer left open.
   */
  cut(): void;
}

/**
 * How the tests reach a gateway: every request on a connection of its own,
 * over HTTP/1.1 (overHttp1) or over HTTP/2 on the TLS listener (overHttp2).
 */
export interface Transport {
  readonly name: string;
  request(port: number, options: HttpRequestOptions): Promise<HttpAnswer>;
  /** Sends the head only: the body is the caller's to write (or not), and to end. */
  start(port: number, options: Omit<HttpRequestOptions, 'body'>): PendingRequest;
}

/** A request over HTTP/1.1 (node:http, no agent) whose body the caller writes. */
export function startHttpRequest(
  port: number,
  options: Omit<HttpRequestOptions, 'body'>,
): PendingRequest {
  const { method = 'GET', path, headers = {}, localAddress, timeoutMs = 30_000 } = options;
  const req = request({
    host: '127.0.0.1',
    port,
    method,
    path,
    headers,
    localAddress,
    agent: false,
    timeout: timeoutMs,
  });
  req.on('timeout', () =>
    req.destroy(new Error(`${method} ${path}: no traffic in ${timeoutMs} ms`)),
  );
  const response = new Promise<Awaited<PendingRequest['response']>>((resolve, reject) => {
    req.on('response', (res) => {
      res.on('error', () => undefined); // a cut answer: its reader sees it end
      resolve({ status: res.statusCode!, headers: res.headers, body: res });
    });
    // An early answer (413, 401) may close the connection while the body is
    // still being written, and be read after the write's error: it wins.
    req.on('error', (err) => setTimeout(() => reject(err), 200));
  });
  response.catch(() => undefined);
  // The head goes out even if no body ever follows, but not before a body
  // given at once (\`end(body)\`): then it goes with its Content-Length.
  setImmediate(() => {
    if (!req.headersSent && !req.destroyed) req.flushHeaders();
  });
  return { body: req, response, cut: () => req.destroy() };
}

/** One request on a connection of its own (no agent): a closed or poisoned connection is its own. */
export function httpRequest(port: number, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { body, ...head } = options;
  return wholeAnswer(startHttpRequest(port, head), body);
}

/** Sends `body` on a started request, and reads its whole answer; the request is cut after. */
export async function wholeAnswer(
  pending: PendingRequest,
  body: HttpRequestOptions['body'],
): Promise<HttpAnswer> {
  // An early answer (413, 401) may end the request while the body is still
  // being written: the answer, when it comes, is what counts.
  pending.body.on('error', () => undefined);
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    pending.body.end(body);
  } else {
    body.on('error', () => undefined);
    body.pipe(pending.body);
  }
  try {
    const { status, headers, body: answer } = await pending.response;
    let text = '';
    answer.setEncoding('utf8');
    for await (const chunk of answer) text += chunk as string;
    return { status, headers, body: text };
  } finally {
    pending.cut();
  }
}

export const overHttp1: Transport = {
  name: 'HTTP/1.1',
  request: httpRequest,
  start: startHttpRequest,
};

export interface RawAnswer {
  /** Status of the first response on the connection, if one came. */
  status?: number;
  headers: Record<string, string>;
  /** Its body (by Content-Length), or whatever followed the head. */
  body: string;
  /** The server closed the connection. */
  closedByServer: boolean;
  /** When it did, in ms after the connection was opened. */
  closedAfterMs?: number;
}

export interface RawOptions {
  localAddress?: string;
  /** Wait for the server to close the connection (up to `waitMs`), not just for an answer. */
  untilClosed?: boolean;
  /** Give up waiting after this long (and close the connection ourselves). */
  waitMs?: number;
}

/** The first response in `text`, once it is complete (head and Content-Length bytes). */
function parseResponse(text: string): Omit<RawAnswer, 'closedByServer'> | undefined {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = text.slice(headEnd + 4);
  const length = headers['content-length'];
  if (length !== undefined && Buffer.byteLength(body, 'latin1') < Number(length)) return undefined;
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

/**
 * Writes `parts` on a fresh TCP connection to the gateway, in order: bytes,
 * or a pause in ms (a slow client). Writing stops when the server closes the
 * connection. Resolves with the first response once complete (or, with
 * `untilClosed`, once the server has closed the connection), or after `waitMs`.
 */
export function rawHttp(
  port: number,
  parts: Array<string | Buffer | number>,
  options: RawOptions = {},
): Promise<RawAnswer> {
  const { localAddress, untilClosed = false, waitMs = 5000 } = options;
  return new Promise((resolve) => {
    const opened = Date.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let text = '';
    let closedAfterMs: number | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const response = parseResponse(text);
      socket.destroy();
      resolve({
        status: response?.status,
        headers: response?.headers ?? {},
        body: response?.body ?? text,
        closedByServer: closedAfterMs !== undefined,
        closedAfterMs,
      });
    };
    const timer = setTimeout(finish, waitMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (!untilClosed && parseResponse(text)) finish();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closedAfterMs ??= Date.now() - opened;
      finish();
    });
    socket.on('end', () => (closedAfterMs = Date.now() - opened));
    void (async () => {
      for (const part of parts) {
        if (socket.destroyed || closedAfterMs !== undefined) return;
        if (typeof part === 'number') await sleep(part);
        else socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part);
      }
    })();
  });
}
