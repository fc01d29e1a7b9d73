import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * soccer-service's own write check (MediaDirHealthService) comes and goes in
 * MEDIA_DIR on its own schedule; it is no upload's leftover.
 */
const HEALTH_PROBE = /^\.write-check-[0-9a-f-]+\.tmp$/;

/** Whether `name` is the health check's own probe file, not a match or an upload. */
export function isHealthProbe(name: string): boolean {
  return HEALTH_PROBE.test(name);
}

/** The files in `mediaDir` now, sorted, without the health check's own probe file. */
export async function mediaFiles(mediaDir: string): Promise<string[]> {
  return (await readdir(mediaDir)).filter((name) => !isHealthProbe(name)).sort();
}

/** The upload temp files in `mediaDir` now (uploaded-files.ts names them `.upload-<uuid>.part`). */
export async function uploadTempFiles(mediaDir: string): Promise<string[]> {
  return (await readdir(mediaDir)).filter((name) => /^\.upload-.*\.part$/.test(name));
}

/**
 * The upload temp files in `mediaDir` once there are some, or after
 * `withinMs`: an upload's temp file appears when the service has taken the
 * call, which on a loaded machine is a while after the client sent it.
 */
export async function uploadTempFilesOnceThere(
  mediaDir: string,
  withinMs = 30_000,
): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const names = await uploadTempFiles(mediaDir);
    if (names.length > 0 || Date.now() > deadline) return names;
    await sleep(20);
  }
}

/**
 * The files in `mediaDir` besides `expected`, once they are gone or after
 * `withinMs`: an upload refused or cut off removes its temp file
 * (`.upload-<uuid>.part`) when its call has ended, a moment after the status
 * went out. Anything still there then was left behind.
 */
export async function mediaLeftovers(
  mediaDir: string,
  expected: readonly string[] = [],
  withinMs = 30_000,
): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const names = (await mediaFiles(mediaDir)).filter((name) => !expected.includes(name));
    if (names.length === 0 || Date.now() > deadline) return names;
    await sleep(20);
  }
}
