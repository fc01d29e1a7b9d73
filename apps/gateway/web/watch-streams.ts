import {
  listen,
  type TabMessage,
  type WatchHandlers,
  type WorkerMessage,
} from './watch-messages.js';

/** Stops a subscription. */
export type Unwatch = () => void;

/**
 * A tab's way to the SSE watch streams. With SharedWorker (every desktop
 * browser), through the watch worker that all tabs of this origin share:
 * one stream per match however many tabs play it. Without it, one
 * EventSource of this tab's own.
 */
export interface WatchStreams {
  watch(url: string, handlers: WatchHandlers): Unwatch;
}

export function watchStreams(): WatchStreams {
  return typeof SharedWorker === 'function' ? new SharedWatchStreams() : new OwnWatchStreams();
}

class OwnWatchStreams implements WatchStreams {
  watch(url: string, handlers: WatchHandlers): Unwatch {
    const source = new EventSource(url);
    let frames = 0;
    listen(
      source,
      {
        frame: (frame) => {
          frames++;
          handlers.frame(frame);
        },
        end: () => {
          source.close();
          handlers.end();
        },
        error: (data, hadFrames) => {
          source.close();
          handlers.error(data, hadFrames);
        },
      },
      () => frames > 0,
    );
    return () => source.close();
  }
}

class SharedWatchStreams implements WatchStreams {
  private readonly port: MessagePort;
  private readonly subscriptions = new Map<number, WatchHandlers>();
  private nextSub = 1;

  constructor() {
    const worker = new SharedWorker('/assets/watch-worker.js', { type: 'module', name: 'watch' });
    this.port = worker.port;
    this.port.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
      this.onMessage(event.data);
    });
    this.port.start();
    // Leaving the page unsubscribes at once (the worker closes a stream nobody watches).
    addEventListener('pagehide', () => {
      for (const sub of this.subscriptions.keys()) this.send({ type: 'unwatch', sub });
      this.subscriptions.clear();
    });
    this.holdTabLock();
  }

  watch(url: string, handlers: WatchHandlers): Unwatch {
    const sub = this.nextSub++;
    this.subscriptions.set(sub, handlers);
    this.send({ type: 'watch', sub, url });
    return () => {
      if (this.subscriptions.delete(sub)) this.send({ type: 'unwatch', sub });
    };
  }

  /**
   * Holds a Web Lock for as long as this tab lives, and names it to the
   * worker, which then notices a tab that died without `pagehide`. (Web
   * Locks need a secure context: on a plain-HTTP host other than localhost,
   * `pagehide` alone.)
   */
  private holdTabLock(): void {
    if (!navigator.locks) return;
    const tabLock = `watch-tab:${crypto.randomUUID()}`;
    void navigator.locks.request(tabLock, () => {
      this.send({ type: 'hello', tabLock });
      return new Promise<never>(() => {});
    });
  }

  private send(message: TabMessage): void {
    this.port.postMessage(message);
  }

  private onMessage(message: WorkerMessage): void {
    const handlers = this.subscriptions.get(message.sub);
    if (!handlers) return;
    if (message.type === 'frame') {
      handlers.frame(message.frame);
      return this.send({ type: 'took', sub: message.sub });
    }
    // The worker has closed the stream: this subscription is over.
    this.subscriptions.delete(message.sub);
    if (message.type === 'end') handlers.end();
    else handlers.error(message.data, message.hadFrames);
  }
}
