import { ApiError, describeError, watchFailure, watchUrl, type Match } from './api.js';
import { byId, formatClock, say } from './dom.js';
import type { ShownFrame } from './watch-messages.js';
import { watchStreams, type Unwatch } from './watch-streams.js';

/** Frames per second measured over this window. */
const FPS_WINDOW_MS = 1000;
/** With no frame and no answer this long after Play, the player says it is still waiting. */
const FIRST_FRAME_PATIENCE_MS = 8000;

/**
 * The "Player" card: a match's SSE watch stream drawn on a canvas. The
 * stream is shared with the other tabs of this origin that play the same
 * match (watch-streams.ts); when the last of them stops (Stop, another
 * match, the end, the tab closed), the HTTP request closes, which cancels
 * the gRPC stream on soccer-service. The canvas's `data-frames-drawn`
 * counts the frames drawn since Play.
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

  private readonly streams = watchStreams();
  private match?: Match;
  private unwatch?: Unwatch;
  private patience?: number;
  private frames = 0;
  private drawn = 0;
  private arrivals: number[] = [];
  /** The newest frame not drawn yet: a slow decoder skips frames, never queues them. */
  private pending?: ShownFrame;
  private drawing = false;

  constructor() {
    this.toggle.addEventListener('click', () => (this.unwatch ? this.stop() : this.play()));
    // Leaving the page closes the streams anyway; this makes it immediate.
    addEventListener('pagehide', () => this.close());
  }

  get playing(): boolean {
    return this.unwatch !== undefined;
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
    this.setDrawn(0);
    this.setPlaying(true);
    // A stream the browser cannot open (no connection left to the gateway)
    // neither plays nor fails: say so rather than stay black.
    this.patience = window.setTimeout(() => {
      if (this.frames > 0) return;
      this.tell(
        `No picture from ${match.id} yet: the gateway has not answered. Other tabs or ` +
          'programs may hold every connection the browser opens to it.',
        'error',
      );
    }, FIRST_FRAME_PATIENCE_MS);
    const unwatch = this.streams.watch(watchUrl(match.id, { fps }), {
      frame: (frame) => {
        if (this.frames === 0) this.tell(`Playing ${match.id}.`);
        this.frames++;
        this.showStats(frame.ptsMs);
        this.pending = frame;
        if (!this.drawing) void this.drawPending();
      },
      end: () => {
        this.close();
        say(this.status, `Full time: ${match.id} ended after ${this.frames} frames.`, 'ok');
      },
      error: (data, hadFrames) => {
        this.close();
        if (data) {
          const why = describeError(ApiError.from(0, data));
          this.tell(`The stream failed: ${why}.`, 'error');
        } else if (hadFrames) {
          this.tell('The connection to the gateway was lost. Press Play to watch again.', 'error');
        } else {
          void watchFailure(match.id).then((err) => {
            if (this.unwatch || this.match !== match) return;
            const why = err ? describeError(err) : 'the gateway could not be reached';
            this.tell(`Could not watch ${match.id}: ${why}.`, 'error');
          });
        }
      },
    });
    this.unwatch = unwatch;
  }

  stop(): void {
    if (!this.unwatch) return;
    this.close();
    say(this.status, `Stopped after ${this.frames} frames.`);
  }

  /** Closes the stream, if any; the last frame stays on screen. */
  private close(): void {
    window.clearTimeout(this.patience);
    this.unwatch?.();
    this.unwatch = undefined;
    this.pending = undefined;
    this.fpsOut.textContent = (0).toFixed(1);
    this.setPlaying(false);
  }

  /**
   * Says `text` under the player; a problem also over the screen while no
   * frame of this stream has been drawn (else it would stay black, unexplained).
   */
  private tell(text: string, kind: 'info' | 'error' = 'info'): void {
    say(this.status, text, kind);
    if (kind === 'error' && this.drawn === 0) {
      this.placeholder.textContent = text;
      this.placeholder.hidden = false;
    }
  }

  private setDrawn(drawn: number): void {
    this.drawn = drawn;
    this.canvas.dataset.framesDrawn = String(drawn);
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
      for (let frame = this.pending; frame; frame = this.pending) {
        this.pending = undefined;
        const blob = new Blob([frame.jpeg], { type: 'image/jpeg' });
        const image = await createImageBitmap(blob);
        if (this.canvas.width !== image.width || this.canvas.height !== image.height) {
          this.canvas.width = image.width;
          this.canvas.height = image.height;
        }
        this.context.drawImage(image, 0, 0);
        image.close();
        this.placeholder.hidden = true;
        this.setDrawn(this.drawn + 1);
      }
    } catch (err) {
      say(this.status, `A frame could not be shown: ${describeError(err)}.`, 'error');
    } finally {
      this.drawing = false;
    }
  }
}
