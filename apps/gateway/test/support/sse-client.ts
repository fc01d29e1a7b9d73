import { get, type IncomingMessage, type RequestOptions } from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
}

/** A minimal SSE client on node:http, reading only when asked (so it can be slow on purpose). */
export class SseClient {
  private buffer = '';
  private readonly events: SseEvent[] = [];
  private waiter?: () => void;
  private ended = false;

  private constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      this.buffer += text;
      for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const event = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event.event = line.slice(7);
          else if (line.startsWith('data: ')) event.data += line.slice(6);
        }
        if (!block.startsWith(':')) this.events.push(event);
      }
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  /** `options`: e.g. `localAddress` and `headers`, to be another client (or a proxy). */
  static open(url: string, options: RequestOptions = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      get(url, options, (res) => resolve(new SseClient(res))).on('error', reject);
    });
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** The next event; undefined once the stream has ended. */
  async next(timeoutMs = 10_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length === 0 && !this.ended) {
      if (Date.now() > deadline) throw new Error('no SSE event in time');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.events.shift();
  }

  /** Events up to and including the first of `last`. */
  async until(last: string): Promise<SseEvent[]> {
    const seen: SseEvent[] = [];
    for (let e = await this.next(); e; e = await this.next()) {
      seen.push(e);
      if (e.event === last) return seen;
    }
    throw new Error(`stream ended before ${last}: ${JSON.stringify(seen.map((s) => s.event))}`);
  }

  /** The whole body of a non-SSE answer (an error). */
  async text(): Promise<string> {
    while (!this.ended) await this.next().catch(() => undefined);
    return this.buffer;
  }

  close(): void {
    this.res.destroy();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
