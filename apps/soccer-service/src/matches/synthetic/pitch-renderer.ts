import type { SyntheticMatchSpec } from './synthetic-matches.js';

/** Byte order of a pixel: OpenCV's BGR for raw frames, RGB for image encoders. */
export type PixelOrder = 'bgr' | 'rgb';

type Rgb = readonly [number, number, number];

const GRASS_LIGHT: Rgb = [46, 139, 62];
const GRASS_DARK: Rgb = [38, 120, 52];
const LINE: Rgb = [235, 235, 235];
const HOME: Rgb = [200, 30, 40];
const AWAY: Rgb = [30, 70, 200];
const BALL: Rgb = [255, 230, 40];
const PANEL: Rgb = [15, 15, 15];
const TEXT: Rgb = [255, 255, 255];

/** 3x5 pixel glyphs for the scoreboard: digits, ':' and '#'. */
const GLYPHS: Record<string, string[]> = {
  '0': ['111', '101', '101', '101', '111'],
  '1': ['010', '110', '010', '010', '111'],
  '2': ['111', '001', '111', '100', '111'],
  '3': ['111', '001', '111', '001', '111'],
  '4': ['101', '101', '111', '001', '001'],
  '5': ['111', '100', '111', '001', '111'],
  '6': ['111', '100', '111', '101', '111'],
  '7': ['111', '001', '010', '010', '010'],
  '8': ['111', '101', '111', '101', '111'],
  '9': ['111', '101', '111', '001', '111'],
  ':': ['000', '010', '000', '010', '000'],
  '#': ['101', '111', '101', '111', '101'],
  ' ': ['000', '000', '000', '000', '000'],
};

/** A 4-4-2 line-up as fractions of the pitch, for the home side (left half). */
const FORMATION: ReadonlyArray<readonly [number, number]> = [
  [0.05, 0.5],
  [0.2, 0.15],
  [0.2, 0.38],
  [0.2, 0.62],
  [0.2, 0.85],
  [0.33, 0.15],
  [0.33, 0.38],
  [0.33, 0.62],
  [0.33, 0.85],
  [0.44, 0.35],
  [0.44, 0.65],
];

/**
 * Draws a synthetic match frame by frame: a striped pitch with its lines,
 * 22 players and a ball moving on smooth deterministic paths, and a
 * scoreboard with the match clock and frame counter. Frame n always has the
 * same pixels, so tests can rely on it.
 */
export class PitchRenderer {
  private readonly background: Record<PixelOrder, Buffer>;

  constructor(private readonly spec: SyntheticMatchSpec) {
    this.background = { bgr: this.drawPitch('bgr'), rgb: this.drawPitch('rgb') };
  }

  get frameBytes(): number {
    return this.spec.width * this.spec.height * 3;
  }

  /** Frame `n` as height x width x 3 bytes in `order`, drawn into `frame` (all of it is written). */
  render(
    n: number,
    order: PixelOrder,
    frame: Buffer = Buffer.allocUnsafe(this.frameBytes),
  ): Buffer {
    this.background[order].copy(frame);
    const { width: w, height: h, fps, seed } = this.spec;
    const t = n / fps;
    const radius = Math.max(3, Math.round(h / 50));
    FORMATION.forEach(([fx, fy], i) => {
      for (const side of [0, 1] as const) {
        const phase = seed * 1.7 + i * 0.9 + side * 2.3;
        const x =
          (side === 0 ? fx : 1 - fx) * w + Math.sin(t * (0.6 + (i % 4) * 0.15) + phase) * w * 0.06;
        const y = fy * h + Math.cos(t * (0.5 + (i % 3) * 0.2) + phase) * h * 0.08;
        this.circle(frame, order, x, y, radius, side === 0 ? HOME : AWAY);
      }
    });
    const bx = w * (0.5 + 0.42 * Math.sin(t * 0.9 + seed));
    const by = h * (0.5 + 0.4 * Math.sin(t * 1.3 + seed * 0.5));
    this.circle(frame, order, bx, by, Math.max(2, radius - 2), BALL);
    this.scoreboard(frame, order, `${clock(t)} #${String(n).padStart(6, '0')}`);
    return frame;
  }

  private drawPitch(order: PixelOrder): Buffer {
    const { width: w, height: h } = this.spec;
    const frame = Buffer.alloc(w * h * 3);
    const stripe = Math.max(1, Math.round(w / 12));
    for (let x = 0; x < w; x += stripe) {
      this.rect(frame, order, x, 0, stripe, h, (x / stripe) % 2 === 0 ? GRASS_LIGHT : GRASS_DARK);
    }
    const m = Math.round(h * 0.05);
    const t = Math.max(1, Math.round(h / 180));
    // touchlines, goal lines, halfway line
    this.rect(frame, order, m, m, w - 2 * m, t, LINE);
    this.rect(frame, order, m, h - m - t, w - 2 * m, t, LINE);
    this.rect(frame, order, m, m, t, h - 2 * m, LINE);
    this.rect(frame, order, w - m - t, m, t, h - 2 * m, LINE);
    this.rect(frame, order, Math.round(w / 2), m, t, h - 2 * m, LINE);
    // penalty areas
    const boxW = Math.round(w * 0.13);
    const boxH = Math.round(h * 0.5);
    const boxY = Math.round((h - boxH) / 2);
    for (const x0 of [m, w - m - boxW]) {
      this.rect(frame, order, x0, boxY, boxW, t, LINE);
      this.rect(frame, order, x0, boxY + boxH, boxW, t, LINE);
      this.rect(frame, order, x0 === m ? x0 + boxW : x0, boxY, t, boxH, LINE);
    }
    // centre circle
    const r = h * 0.15;
    for (let a = 0; a < Math.PI * 2; a += 1 / r) {
      this.rect(
        frame,
        order,
        Math.round(w / 2 + r * Math.cos(a)),
        Math.round(h / 2 + r * Math.sin(a)),
        t,
        t,
        LINE,
      );
    }
    return frame;
  }

  private scoreboard(frame: Buffer, order: PixelOrder, text: string): void {
    const scale = Math.max(1, Math.round(this.spec.height / 120));
    const pad = 2 * scale;
    const width = text.length * 4 * scale + pad * 2;
    this.rect(frame, order, 0, 0, width, 5 * scale + pad * 2, PANEL);
    [...text].forEach((ch, i) => {
      const glyph = GLYPHS[ch] ?? GLYPHS[' '];
      glyph.forEach((row, gy) =>
        [...row].forEach((bit, gx) => {
          if (bit === '1') {
            this.rect(
              frame,
              order,
              pad + (i * 4 + gx) * scale,
              pad + gy * scale,
              scale,
              scale,
              TEXT,
            );
          }
        }),
      );
    });
  }

  private rect(
    frame: Buffer,
    order: PixelOrder,
    x0: number,
    y0: number,
    w: number,
    h: number,
    c: Rgb,
  ): void {
    const { width, height } = this.spec;
    const [a, b, d] = order === 'rgb' ? c : [c[2], c[1], c[0]];
    const xs = Math.max(0, Math.round(x0));
    const xe = Math.min(width, Math.round(x0 + w));
    for (let y = Math.max(0, Math.round(y0)); y < Math.min(height, Math.round(y0 + h)); y++) {
      for (let x = xs; x < xe; x++) {
        const i = (y * width + x) * 3;
        frame[i] = a;
        frame[i + 1] = b;
        frame[i + 2] = d;
      }
    }
  }

  private circle(
    frame: Buffer,
    order: PixelOrder,
    cx: number,
    cy: number,
    r: number,
    c: Rgb,
  ): void {
    for (let dy = -r; dy <= r; dy++) {
      const half = Math.floor(Math.sqrt(r * r - dy * dy));
      this.rect(frame, order, cx - half, cy + dy, half * 2 + 1, 1, c);
    }
  }
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${String(Math.floor(s / 60) % 100).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
