import type { Frame } from './api.js';

/**
 * What a tab and the watch worker (watch-worker.ts) say to each other over
 * the worker's MessagePort. One subscription is one tab watching one watch
 * URL; the worker keeps one EventSource per URL, whoever asks for it.
 */

/** Tab → worker. */
export type TabMessage =
  /** The tab holds the Web Lock `tabLock` for as long as it lives (see watch-worker.ts). */
  | { type: 'hello'; tabLock: string }
  | { type: 'watch'; sub: number; url: string }
  | { type: 'unwatch'; sub: number }
  /** The tab has taken the last frame posted to `sub`: the next may come. */
  | { type: 'took'; sub: number };

/** Worker → tab, about subscription `sub`. */
export type WorkerMessage =
  | { type: 'frame'; sub: number; frame: ShownFrame }
  /** The match is over. */
  | { type: 'end'; sub: number }
  /**
   * The stream failed and is closed: `data` is the API's error body when the
   * gateway sent an `error` event; `hadFrames` when it had played before.
   */
  | { type: 'error'; sub: number; data?: string; hadFrames: boolean };

/** A frame as the player shows it: its JPEG's bytes, decoded from base64 once for every tab. */
export interface ShownFrame {
  ptsMs: number;
  jpeg: Uint8Array<ArrayBuffer>;
}

/** A `frame` event's data (JSON, the JPEG in base64) as a ShownFrame. */
export function shownFrame(data: string): ShownFrame {
  const frame = JSON.parse(data) as Frame;
  const binary = atob(frame.data);
  const jpeg = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) jpeg[i] = binary.charCodeAt(i);
  return { ptsMs: frame.ptsMs, jpeg };
}

/** What a subscriber hears about its stream. */
export interface WatchHandlers {
  frame(frame: ShownFrame): void;
  end(): void;
  error(data: string | undefined, hadFrames: boolean): void;
}

/**
 * Routes an EventSource's events to `handlers`, whose `error` closes it: the
 * player says why, and Play opens it again (EventSource's own reconnect
 * would start a finished match over).
 */
export function listen(source: EventSource, handlers: WatchHandlers, hadFrames: () => boolean) {
  source.addEventListener('frame', (event) =>
    handlers.frame(shownFrame((event as MessageEvent<string>).data)),
  );
  source.addEventListener('end', () => handlers.end());
  source.addEventListener('error', (event) => {
    // An `error` event the gateway sent carries the API's error body.
    const data = (event as MessageEvent<unknown>).data;
    handlers.error(typeof data === 'string' && data ? data : undefined, hadFrames());
  });
}
