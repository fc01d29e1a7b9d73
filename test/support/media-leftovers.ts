import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * soccer-service's own write check (MediaDirHealthService) comes and goes in
 * MEDIA_DIR on its own schedule; it is no upload's leftover.
 */
const HEALTH_PROBE = /^\.write-check-[0-9a-f-]+\.tmp$/;

/** The upload temp files in `mediaDir` now (uploaded-files.ts names them `.upload-<uuid>.part`). */
export async function uploadTempFiles(mediaDir: string): Promise<string[]> {
  return (await readdir(mediaDir)).filter((name) => /^\.upload-.*\.part$/.test(name));
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
  withinMs = 2000,
): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const names = (await readdir(mediaDir)).filter(
      (name) => !HEALTH_PROBE.test(name) && !expected.includes(name),
    );
    if (names.length === 0 || Date.now() > deadline) return names.sort();
    await sleep(20);
  }
}
