/**
 * The watch worker: a SharedWorker that every tab of this origin shares. It
 * opens one SSE stream (EventSource) per watch URL, however many tabs watch
 * it, and hands each frame to each of them. Browsers open at most 6
 * HTTP/1.1 connections per site and an SSE stream holds one while it runs,
 * so a stream per tab would freeze the seventh tab (docs/architecture.md,
 * "The web page in many tabs").
 *
 * A tab gets its next frame once it has taken the last one (`took`): a tab
 * that falls behind (a background tab, a busy one) gets the newest frame
 * when it is free, never a growing queue.
 *
 * A stream closes when its last subscriber leaves: Stop, another match, the
 * tab closed (its `pagehide` unsubscribes). A tab that dies without a word
 * (a crash) is noticed through its Web Lock: it holds one for its whole
 * life, and the worker's request for that lock is granted when the tab is
 * gone.
 */
import {
  listen,
  type TabMessage,
  type ShownFrame,
  type WatchHandlers,
  type WorkerMessage,
} from './watch-messages.js';

/** One subscription's frames on their way to its tab. */
interface Delivery {
  /** A frame was posted and the tab has not taken it yet. */
  posted: boolean;
  /** The newest frame that came meanwhile. */
  newest?: ShownFrame;
}

interface Stream {
  source: EventSource;
  frames: number;
  /** Subscribers: port → its subscriptions of this URL. */
  subscribers: Map<MessagePort, Map<number, Delivery>>;
}

const streams = new Map<string, Stream>();

function post(port: MessagePort, message: WorkerMessage): void {
  port.postMessage(message);
}

function forEachSubscriber(
  stream: Stream,
  send: (port: MessagePort, sub: number, delivery: Delivery) => void,
): void {
  for (const [port, subs] of stream.subscribers) {
    for (const [sub, delivery] of subs) send(port, sub, delivery);
  }
}

function deliver(port: MessagePort, sub: number, delivery: Delivery, frame: ShownFrame): void {
  if (delivery.posted) {
    delivery.newest = frame;
    return;
  }
  delivery.posted = true;
  post(port, { type: 'frame', sub, frame });
}

/** The tab took its frame: it may have the newest one now. */
function took(port: MessagePort, sub: number): void {
  for (const stream of streams.values()) {
    const delivery = stream.subscribers.get(port)?.get(sub);
    if (!delivery) continue;
    delivery.posted = false;
    const newest = delivery.newest;
    delivery.newest = undefined;
    if (newest !== undefined) deliver(port, sub, delivery, newest);
  }
}

function open(url: string): Stream {
  const source = new EventSource(url);
  const stream: Stream = { source, frames: 0, subscribers: new Map() };
  const handlers: WatchHandlers = {
    frame: (frame) => {
      stream.frames++;
      forEachSubscriber(stream, (port, sub, delivery) => deliver(port, sub, delivery, frame));
    },
    end: () => {
      close(url);
      forEachSubscriber(stream, (port, sub) => post(port, { type: 'end', sub }));
    },
    error: (data, hadFrames) => {
      close(url);
      forEachSubscriber(stream, (port, sub) => post(port, { type: 'error', sub, data, hadFrames }));
    },
  };
  listen(source, handlers, () => stream.frames > 0);
  streams.set(url, stream);
  return stream;
}

function close(url: string): void {
  streams.get(url)?.source.close();
  streams.delete(url);
}

function unsubscribe(port: MessagePort, sub?: number): void {
  for (const [url, stream] of streams) {
    const subs = stream.subscribers.get(port);
    if (!subs) continue;
    if (sub === undefined) subs.clear();
    else subs.delete(sub);
    if (subs.size === 0) stream.subscribers.delete(port);
    if (stream.subscribers.size === 0) close(url);
  }
}

function onMessage(port: MessagePort, message: TabMessage): void {
  switch (message.type) {
    case 'watch': {
      const stream = streams.get(message.url) ?? open(message.url);
      const subs = stream.subscribers.get(port) ?? new Map<number, Delivery>();
      subs.set(message.sub, { posted: false });
      stream.subscribers.set(port, subs);
      break;
    }
    case 'took':
      took(port, message.sub);
      break;
    case 'unwatch':
      unsubscribe(port, message.sub);
      break;
    case 'hello':
      // Granted once the tab that holds it is gone: drop its subscriptions.
      void navigator.locks?.request(message.tabLock, () => unsubscribe(port));
      break;
  }
}

addEventListener('connect', (event) => {
  const port = (event as MessageEvent).ports[0];
  port.addEventListener('message', (e: MessageEvent<TabMessage>) => onMessage(port, e.data));
  port.start();
});
