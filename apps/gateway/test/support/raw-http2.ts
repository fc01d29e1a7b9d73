import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';

/**
 * HTTP/2 frames written by hand over TLS (ALPN h2), so that a test can do
 * what node:http2 will not: open streams past the server's
 * MAX_CONCURRENT_STREAMS (node:http2 queues them until others close), or
 * reset streams as fast as it opens them (CVE-2023-44487, rapid reset).
 * It reads only what the tests look at: which streams the server answered
 * or reset, and its GOAWAY. Header blocks are HPACK without compression
 * state (static-table names, literal values), so nothing is decoded.
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
/** RST_STREAM CANCEL: what a browser sends for a request it no longer wants. */
export const CANCEL = 0x8;

export interface Goaway {
  errorCode: number;
  /** The last stream the server took: every later one it ignored. */
  lastStreamId: number;
}

function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `prefixBits`-bit prefix (RFC 7541 §5.1), first byte's high bits 0. */
function hpackInteger(value: number, prefixBits: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [value];
  const bytes = [max];
  for (value -= max; value >= 128; value >>= 7) bytes.push((value & 0x7f) | 0x80);
  bytes.push(value);
  return bytes;
}

/** "Literal Header Field without Indexing", name from the static table (RFC 7541 §6.2.2). */
function literal(staticNameIndex: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return Buffer.concat([
    Buffer.from(hpackInteger(staticNameIndex, 4)),
    Buffer.from(hpackInteger(bytes.length, 7)),
    bytes,
  ]);
}

/** GET `path`: :method GET (static 2), :scheme https (7), :path (4), :authority (1). */
function getRequestBlock(path: string): Buffer {
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(4, path), literal(1, 'localhost')]);
}

export class RawHttp2Session {
  /** Streams the server answered (sent HEADERS on). */
  readonly answered = new Set<number>();
  /** Streams the server reset, with the RST_STREAM error code. */
  readonly resets = new Map<number, number>();
  goaway?: Goaway;
  closed = false;
  /**
   * The server reset the connection (a write failed with EPIPE or
   * ECONNRESET). Node then destroys the socket before reading what is still
   * in it, so a GOAWAY the server sent just before may never be seen.
   */
  resetByServer = false;
  private pingsSent = 0;
  private pingsAcked = 0;
  private nextStreamId = 1;
  private input: Buffer = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly socket: TLSSocket,
    private readonly ackSettings: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') this.resetByServer = true;
    });
    socket.on('drain', () => this.wake());
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /**
   * A session to the TLS listener at `port`, once the server's SETTINGS are
   * in, and acknowledged unless `ackSettings` is false: until a client
   * acknowledges them, a server must not hold it to them (RFC 9113 §6.5.3).
   */
  static async open(
    port: number,
    ca: Buffer,
    { ackSettings = true } = {},
  ): Promise<RawHttp2Session> {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
    });
    try {
      await once(socket, 'secureConnect', { signal: AbortSignal.timeout(30_000) });
      if (socket.alpnProtocol !== 'h2')
        throw new Error(`ALPN chose ${String(socket.alpnProtocol)}`);
      const session = new RawHttp2Session(socket, ackSettings);
      socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
      // The server's SETTINGS come first; `read` acknowledges them (or not).
      if (!(await session.until(() => session.settingsReceived, 30_000))) {
        throw new Error('no SETTINGS from the server');
      }
      return session;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private settingsReceived = false;

  /**
   * Opens `count` GET streams of `path` in one write, each reset (CANCEL)
   * right after its HEADERS when `reset`. (See `writable` before more.)
   */
  openStreams(path: string, count: number, { reset = false } = {}): void {
    const block = getRequestBlock(path);
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.nextStreamId;
      this.nextStreamId += 2;
      frames.push(frame(HEADERS, END_STREAM | END_HEADERS, id, block));
      if (reset) frames.push(frame(RST_STREAM, 0, id, uint32(CANCEL)));
    }
    this.socket.write(Buffer.concat(frames));
  }

  /** Streams opened so far. */
  get opened(): number {
    return (this.nextStreamId - 1) / 2;
  }

  /**
   * A PING, then until its ACK: the server has read everything sent before
   * it (frames are handled in order). False if the connection ended first.
   */
  async roundTrip(timeoutMs: number): Promise<boolean> {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(++this.pingsSent);
    const sent = this.pingsSent;
    this.socket.write(frame(PING, 0, 0, payload));
    return this.until(() => this.pingsAcked >= sent, timeoutMs);
  }

  /** The socket takes more without buffering (no 'drain' awaited). */
  get writable(): boolean {
    return !this.closed && !this.socket.writableNeedDrain;
  }

  /** Resolves with whether `condition` holds, once it does, the socket closed, or `timeoutMs` passed. */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!condition() && !this.closed) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(condition());
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(condition());
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Closes the connection at once, whatever is under way. */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private read(chunk: Buffer): void {
    this.input = Buffer.concat([this.input, chunk]);
    while (this.input.length >= 9) {
      const length = this.input.readUIntBE(0, 3);
      if (this.input.length < 9 + length) break;
      const type = this.input.readUInt8(3);
      const flags = this.input.readUInt8(4);
      const streamId = this.input.readUInt32BE(5) & 0x7fffffff;
      const payload = this.input.subarray(9, 9 + length);
      this.input = this.input.subarray(9 + length);
      this.onFrame(type, flags, streamId, payload);
    }
    this.wake();
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case SETTINGS:
        if (!(flags & ACK)) {
          if (this.ackSettings) this.socket.write(frame(SETTINGS, ACK, 0));
          this.settingsReceived = true;
        }
        break;
      case PING:
        if (flags & ACK) this.pingsAcked++;
        else this.socket.write(frame(PING, ACK, 0, payload));
        break;
      case HEADERS:
        this.answered.add(streamId);
        break;
      case RST_STREAM:
        this.resets.set(streamId, payload.readUInt32BE(0));
        break;
      case GOAWAY:
        this.goaway = {
          lastStreamId: payload.readUInt32BE(0) & 0x7fffffff,
          errorCode: payload.readUInt32BE(4),
        };
        break;
      case DATA:
      default:
        // Bodies are not read: the server's flow-control window fills and it waits.
        break;
    }
  }
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}
