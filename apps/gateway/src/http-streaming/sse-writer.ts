import type { ServerResponse } from 'node:http';
import { endStream } from './raw-response.js';

export interface SseWriterOptions {
  /** Send a comment line this often while idle, so proxies keep the connection; 0 = never. */
  heartbeatMs?: number;
}

/**
 * Server-Sent Events on a raw Node response: the framing in one place.
 * Every event goes out in one `write`, so its return value is the
 * back-pressure signal for exactly that event; callers decide what to do
 * while the socket is not writable (see backpressure.ts).
 */
export class SseWriter {
  private heartbeat?: NodeJS.Timeout;

  constructor(
    readonly res: ServerResponse,
    private readonly options: SseWriterOptions = {},
  ) {}

  /** Status 200 and the event-stream headers, sent at once. */
  open(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses by default; an event stream must not be.
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
    const every = this.options.heartbeatMs ?? 0;
    if (every > 0) {
      this.heartbeat = setInterval(() => {
        // Only into an idle socket: a comment must never add to a backlog.
        if (this.res.writableLength === 0 && !this.closed) this.res.write(': ping\n\n');
      }, every);
      this.heartbeat.unref();
    }
  }

  /** True once the stream ended or the client went away. */
  get closed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  /** One event with JSON data, framed; to be written with `write` (maybe to many streams). */
  static event(event: string, data: unknown): Buffer {
    // JSON.stringify never emits a raw newline, so the data is one `data:` line.
    return Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Writes one event with JSON data; false when the socket wants a 'drain' first. */
  send(event: string, data: unknown): boolean {
    return this.write(SseWriter.event(event, data));
  }

  /** Writes an event framed by `SseWriter.event`; false when the socket wants a 'drain' first. */
  write(framed: Buffer): boolean {
    if (this.closed) return false;
    return this.res.write(framed);
  }

  /** Writes a last event (if any) and ends the stream. */
  end(event?: string, data?: unknown): void {
    this.stopHeartbeat();
    if (this.closed) return;
    if (event) this.send(event, data);
    endStream(this.res);
  }

  /** Drops the connection without a last event. */
  destroy(): void {
    this.stopHeartbeat();
    this.res.destroy();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
