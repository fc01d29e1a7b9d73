import { ApiError, describeError, watchFailure, watchUrl, type Frame, type Match } from './api.js';
import { byId, formatClock, say } from './dom.js';

/** Frames per second measured over this window. */
const FPS_WINDOW_MS = 1000;

function base64Bytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The "Player" card: a match's SSE watch stream drawn on a canvas. Closing
 * the EventSource (Stop, another match, the end) closes the HTTP request,
 * which cancels the gRPC stream on soccer-service.
 */
export class Player {
  private readonly canvas = byId('player-canvas', HTMLCanvasElement);
  private readonly context = this.canvas.getContext('2d')!;
  private readonly placeholder = byId('player-placeholder', HTMLParagraphElement);
  private readonly title = byId('player-title', HTMLHeadingElement);
  private readonly toggle = byId('player-toggle', HTMLButtonElement);
  private readonly framesOut = byId('player-frames', HTMLElement);
  private readonly fpsOut = byId('player-fps', HTMLElement);
  private readonly clockOut = byId('player-clock', HTMLElement);
  private readonly status = byId('player-status', HTMLParagraphElement);

  private match?: Match;
  private source?: EventSource;
  private frames = 0;
  private arrivals: number[] = [];
  /** The newest frame not drawn yet: a slow decoder skips frames, never queues them. */
  private pending?: string;
  private drawing = false;

  constructor() {
    this.toggle.addEventListener('click', () => (this.source ? this.stop() : this.play()));
    // Leaving the page closes the streams anyway; this makes it immediate.
    addEventListener('pagehide', () => this.close());
  }

  get playing(): boolean {
    return this.source !== undefined;
  }

  /** Shows `match` and plays it from the start. */
  watch(match: Match): void {
    this.close();
    this.match = match;
    this.title.textContent = `Player: ${match.id}`;
    this.toggle.disabled = false;
    this.play();
  }

  play(): void {
    const match = this.match;
    if (!match) return;
    this.close();
    this.frames = 0;
    this.arrivals = [];
    this.showStats(0);
    this.canvas.setAttribute('aria-label', `Match ${match.id}`);
    say(this.status, `Connecting to ${match.id}…`);
    const fps = match.fps > 0 ? Math.min(120, Math.round(match.fps)) : 25;
    const source = new EventSource(watchUrl(match.id, { fps }));
    this.source = source;
    this.setPlaying(true);

    source.addEventListener('frame', (event) => {
      const frame = JSON.parse((event as MessageEvent<string>).data) as Frame;
      if (this.frames === 0) say(this.status, `Playing ${match.id}.`);
      this.frames++;
      this.showStats(frame.ptsMs);
      this.pending = frame.data;
      if (!this.drawing) void this.drawPending();
    });
    // The match is over: close, or EventSource would reconnect and start it again.
    source.addEventListener('end', () => {
      this.close();
      say(this.status, `Full time: ${match.id} ended after ${this.frames} frames.`, 'ok');
    });
    source.addEventListener('error', (event) => {
      const hadFrames = this.frames > 0;
      this.close();
      // An `error` event the gateway sent carries the API's error body.
      const data = (event as MessageEvent<unknown>).data;
      if (typeof data === 'string' && data) {
        say(this.status, `The stream failed: ${describeError(ApiError.from(0, data))}.`, 'error');
      } else if (hadFrames) {
        say(
          this.status,
          'The connection to the gateway was lost. Press Play to watch again.',
          'error',
        );
      } else {
        void watchFailure(match.id).then((err) => {
          if (this.source || this.match !== match) return;
          const why = err ? describeError(err) : 'the gateway could not be reached';
          say(this.status, `Could not watch ${match.id}: ${why}.`, 'error');
        });
      }
    });
  }

  stop(): void {
    if (!this.source) return;
    this.close();
    say(this.status, `Stopped after ${this.frames} frames.`);
  }

  /** Closes the stream, if any; the last frame stays on screen. */
  private close(): void {
    this.source?.close();
    this.source = undefined;
    this.pending = undefined;
    this.fpsOut.textContent = (0).toFixed(1);
    this.setPlaying(false);
  }

  private setPlaying(playing: boolean): void {
    this.toggle.textContent = playing ? 'Stop' : 'Play';
    this.toggle.classList.toggle('primary', !playing);
  }

  private showStats(ptsMs: number): void {
    const now = performance.now();
    this.arrivals.push(now);
    while (this.arrivals.length && this.arrivals[0] < now - FPS_WINDOW_MS) this.arrivals.shift();
    const span = now - this.arrivals[0];
    const fps =
      this.arrivals.length > 1 && span > 0 ? ((this.arrivals.length - 1) * 1000) / span : 0;
    this.framesOut.textContent = String(this.frames);
    this.fpsOut.textContent = fps.toFixed(1);
    this.clockOut.textContent = formatClock(ptsMs);
  }

  /** Decodes and draws the newest frame until none is pending. */
  private async drawPending(): Promise<void> {
    this.drawing = true;
    try {
      for (let data = this.pending; data; data = this.pending) {
        this.pending = undefined;
        const blob = new Blob([base64Bytes(data)], { type: 'image/jpeg' });
        const image = await createImageBitmap(blob);
        if (this.canvas.width !== image.width || this.canvas.height !== image.height) {
          this.canvas.width = image.width;
          this.canvas.height = image.height;
        }
        this.context.drawImage(image, 0, 0);
        image.close();
        this.placeholder.hidden = true;
      }
    } catch (err) {
      say(this.status, `A frame could not be shown: ${describeError(err)}.`, 'error');
    } finally {
      this.drawing = false;
    }
  }
}
