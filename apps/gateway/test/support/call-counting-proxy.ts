import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

/** The client connection preface of HTTP/2 (RFC 9113 §3.4), before the first frame. */
const PREFACE_BYTES = 24;
const FRAME_HEADER_BYTES = 9;
const HEADERS_FRAME = 0x1;

/**
 * Follows the client's half of a cleartext HTTP/2 connection and reports
 * each HEADERS frame: one per call, since a gRPC client sends its request
 * headers once and never trailers.
 */
class RequestHeadersCounter {
  private prefaceLeft = PREFACE_BYTES;
  private header = Buffer.alloc(0);
  private payloadLeft = 0;

  constructor(private readonly onRequest: () => void) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const rest = chunk.length - at;
      if (this.prefaceLeft > 0 || this.payloadLeft > 0) {
        const skipped = Math.min(this.prefaceLeft || this.payloadLeft, rest);
        if (this.prefaceLeft > 0) this.prefaceLeft -= skipped;
        else this.payloadLeft -= skipped;
        at += skipped;
        continue;
      }
      const part = chunk.subarray(at, at + FRAME_HEADER_BYTES - this.header.length);
      this.header = Buffer.concat([this.header, part]);
      at += part.length;
      if (this.header.length < FRAME_HEADER_BYTES) continue;
      this.payloadLeft = this.header.readUIntBE(0, 3);
      if (this.header[3] === HEADERS_FRAME) this.onRequest();
      this.header = Buffer.alloc(0);
    }
  }
}

/**
 * A TCP proxy on loopback in front of one gRPC server (h2c), counting the
 * calls that pass through it: the test's way to see which replica the
 * gateway's round robin sent each call to, without touching the replicas.
 * When the server goes away, so do the connections through the proxy.
 */
export class CallCountingProxy {
  /** Calls sent through the proxy so far. */
  calls = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CallCountingProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new CallCountingProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.relay(client, targetPort));
    return proxy;
  }

  async close(): Promise<void> {
    const closed = once(this.server, 'close');
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private relay(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    }
    const counter = new RequestHeadersCounter(() => this.calls++);
    client.on('data', (chunk: Buffer) => counter.push(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
    // A reset stays a reset (a killed server), an end stays an end.
    upstream.on('error', () => client.resetAndDestroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }
}
