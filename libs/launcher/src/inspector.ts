/**
 * A Chrome DevTools Protocol session with a Node process started with
 * `--inspect` (AppProcess `inspect: true`), over Node's own WebSocket: what
 * tests and the bench use to read a process's live heap after a full GC,
 * with nothing added to the app itself.
 */
export class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (result: unknown) => void; reject: (err: Error) => void }
  >();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event: MessageEvent) => {
      const reply = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      const waiting = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (!waiting) return; // an event: none is enabled
      this.pending.delete(reply.id!);
      if (reply.error) waiting.reject(new Error(`inspector: ${reply.error.message}`));
      else waiting.resolve(reply.result);
    });
    socket.addEventListener('close', () => {
      for (const { reject } of this.pending.values()) reject(new Error('inspector closed'));
      this.pending.clear();
    });
  }

  /** Connects to `url` (ws://127.0.0.1:PORT/UUID, as `--inspect` prints it). */
  static connect(url: string): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.addEventListener('open', () => resolve(new InspectorSession(socket)), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
  }

  /** Sends one protocol command; resolves with its result. */
  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r as T), reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Bytes of the JS heap still reachable: used heap right after a full,
   * forced GC (run twice, so what the first one finalised is gone too).
   */
  async liveHeapBytes(): Promise<number> {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
    const { usedSize } = await this.send<{ usedSize: number }>('Runtime.getHeapUsage');
    return usedSize;
  }

  /** Detaches; a process with a session attached waits for it to go before it exits. */
  close(): void {
    this.socket.close();
  }
}

/** The inspector's WebSocket URL in what a process started with `--inspect` printed. */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}
