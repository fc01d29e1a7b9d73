import { randomUUID } from 'node:crypto';
import { link, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Temp files are hidden and never end in .mp4, so whoever lists matches
 * ({id}.mp4) cannot see an upload before it is complete.
 */
const TEMP_FILE = /^\.upload-[0-9a-f-]+\.part$/;

/** A fresh temp file name in `dir` for one upload. */
export function tempUploadPath(dir: string): string {
  return join(dir, `.upload-${randomUUID()}.part`);
}

/** The file a match `id` is stored in. */
export function matchFilePath(dir: string, id: string): string {
  return join(dir, `${id}.mp4`);
}

export async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Puts a complete temp file in place as `final`, atomically. Without
 * overwrite, link() fails with EEXIST when `final` exists, even when two
 * uploads race for it; rename() replaces it in one step. Either way readers
 * see the old file or the new one, never part of one.
 */
export async function moveIntoPlace(
  temp: string,
  final: string,
  overwrite: boolean,
): Promise<void> {
  if (overwrite) {
    await rename(temp, final);
  } else {
    await link(temp, final);
    await rm(temp, { force: true });
  }
}

/**
 * Removes temp files left by a crash. Only old ones: another replica sharing
 * the directory may be writing a fresh one.
 */
export async function removeStaleUploads(dir: string, olderThanMs: number): Promise<number> {
  const cutoff = Date.now() - olderThanMs;
  let removed = 0;
  for (const name of await readdir(dir)) {
    if (!TEMP_FILE.test(name)) continue;
    const path = join(dir, name);
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Infinity }));
    if (mtimeMs < cutoff) {
      await rm(path, { force: true });
      removed += 1;
    }
  }
  return removed;
}
