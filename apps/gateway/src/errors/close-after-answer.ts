import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The longest a connection answered early drains its client's body before it is dropped. */
export const LINGER_MS = 5_000;

/**
 * When an answer goes out before the request body was read to the end (a
 * 413, a guard's 401), close the connection after it rather than let Node
 * read the rest of a possibly huge body to keep the connection alive.
 * (HTTP/2 has no such header: its stream is reset, the connection lives on.)
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.headersSent || req.httpVersionMajor !== 1) return;
  res.setHeader('connection', 'close');
  lingerOnClose(req);
}

/**
 * Closes as nginx does ("lingering close"). Node destroys the socket as soon
 * as the answer is flushed; with body bytes still unread, the kernel resets
 * the connection, and a client still writing its body gets EPIPE and may
 * lose the answer before it reads it. Instead: the answer, then FIN; what
 * the client still sends is read and dropped; the socket closes when the
 * client closes its side, or after LINGER_MS.
 */
function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket;
  // Node calls destroySoon once the answer (sent with `Connection: close`) is written.
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.readableEnded) return this.destroy();
    this.end();
    req.resume();
    const timer = setTimeout(() => this.destroy(), LINGER_MS).unref();
    this.once('end', () => this.destroy());
    this.once('close', () => clearTimeout(timer));
  };
}
