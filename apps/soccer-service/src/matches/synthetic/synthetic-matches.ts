/** A match rendered in code: always there, no files, no ffmpeg. */
export interface SyntheticMatchSpec {
  id: string;
  width: number;
  height: number;
  fps: number;
  /** Number of frames; undefined for an endless live match. */
  frames?: number;
  /** Seed of the players' paths, so each match looks different but is deterministic. */
  seed: number;
}

/** The built-in matches: a 10-second one and an endless live one. */
export const SYNTHETIC_MATCHES: readonly SyntheticMatchSpec[] = [
  { id: 'demo', width: 640, height: 360, fps: 25, frames: 250, seed: 1 },
  { id: 'live', width: 640, height: 360, fps: 25, seed: 2 },
];

export function syntheticMatch(id: string): SyntheticMatchSpec | undefined {
  return SYNTHETIC_MATCHES.find((m) => m.id === id);
}

/** An endless match: watched from "now" (ListMatches' `live`). */
export function isLiveMatch(spec: SyntheticMatchSpec): boolean {
  return spec.frames === undefined;
}

/** Synthetic ids are reserved: no upload may take them. */
export function isSyntheticMatchId(id: string): boolean {
  return syntheticMatch(id) !== undefined;
}
