import type { ServerResponse } from 'node:http';
import { endStream } from './raw-response.js';

/** Told when a writer opens and when it lets go of its response (the open-writers gauge). */
export interface SseWriterLifecycle {
  opened(): void;
  released(): void;
}

export interface SseWriterOptions {
  /** Send a comment line this often while idle, so proxies keep the connection; 0 = never. */
  heartbeatMs?: number;
  lifecycle?: SseWriterLifecycle;
}

/**
 * Server-Sent Events on a raw Node response: the framing in one place.
 * Every event goes out in one `write`, so its return value is the
 * back-pressure signal for exactly that event; callers decide what to do
 * while the socket is not writable (see backpressure.ts).
 *
 * The heartbeat lives exactly as long as the response: it stops on `end`,
 * `destroy`, `release`, or the response's own 'close', whichever is first.
 * (A timer is a GC root: one left running would keep the writer, its
 * response and socket alive for ever.)
 */
export class SseWriter {
  private heartbeat?: NodeJS.Timeout;
  private opened = false;
  private released = false;

  constructor(
    readonly res: ServerResponse,
    private readonly options: SseWriterOptions = {},
  ) {}

  /** Status 200 and the event-stream headers, sent at once. */
  open(): void {
    if (this.opened || this.released) return;
    this.opened = true;
    this.options.lifecycle?.opened();
    this.res.once('close', this.release);
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
    this.release();
    if (this.closed) return;
    if (event) this.send(event, data);
    endStream(this.res);
  }

  /** Drops the connection without a last event. */
  destroy(): void {
    this.release();
    this.res.destroy();
  }

  /** Stops the heartbeat and lets go of the response; once, whatever calls it first. */
  readonly release = (): void => {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (!this.opened) return;
    this.res.off('close', this.release);
    this.options.lifecycle?.released();
  };
}
