import { fileURLToPath } from 'node:url';

/** The repository root, from bench/support (tsc --noEmit) or dist/bench/support (run). */
export const ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url),
);

/** The talk's Python servers (read from the source tree, never built). */
export const TALK_DIR = `${ROOT}bench/talk/`;

/** bench/reference's Python scripts (read from the source tree, never built). */
export const REFERENCE_DIR = `${ROOT}bench/reference/`;

/** The talk's protos, kept verbatim beside the interop tests. */
export const TALK_CHEESE_PROTO_DIR = `${ROOT}apps/cheese-service/test/talk/`;
export const TALK_STREAM_PROTO_DIR = `${ROOT}apps/soccer-service/test/talk/`;

/** A compiled bench script, run as its own process. */
export function benchScript(relative: string): string {
  return `${ROOT}dist/bench/${relative}`;
}
