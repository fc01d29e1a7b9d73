import type { FrameTarget } from '../frame-target.js';
import type { PixelOrder } from './pitch-renderer.js';
import { PitchRenderer } from './pitch-renderer.js';
import type { SyntheticMatchSpec } from './synthetic-matches.js';

const renderers = new Map<string, PitchRenderer>();

/**
 * The frames of a synthetic match, rendered only when pulled: a reader that
 * stops pulling stops the rendering, which is all the back-pressure needed.
 * Each is drawn into the buffer `target` gives, when given.
 */
export function* syntheticFrames(
  spec: SyntheticMatchSpec,
  order: PixelOrder,
  signal: AbortSignal,
  target?: FrameTarget,
): Generator<Buffer> {
  let renderer = renderers.get(spec.id);
  if (!renderer) {
    renderer = new PitchRenderer(spec);
    renderers.set(spec.id, renderer);
  }
  for (let n = 0; spec.frames === undefined || n < spec.frames; n++) {
    signal.throwIfAborted();
    yield renderer.render(n, order, target?.(renderer.frameBytes));
  }
}
