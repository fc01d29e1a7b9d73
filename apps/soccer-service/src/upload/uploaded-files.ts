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

/** A temp file removed by removeStaleUploads. */
export interface RemovedUpload {
  name: string;
  bytes: number;
  /** How long nothing had been written to it. */
  idleMs: number;
}

/**
 * Removes the temp files in `dir` that nothing has written to for
 * `idleForMs` and that are not `owned` (by an upload in flight here). Only
 * idle ones: another replica sharing the directory may be writing a fresh one.
 */
export async function removeStaleUploads(
  dir: string,
  idleForMs: number,
  owned: (path: string) => boolean = () => false,
): Promise<RemovedUpload[]> {
  const removed: RemovedUpload[] = [];
  for (const name of await readdir(dir)) {
    if (!TEMP_FILE.test(name)) continue;
    const path = join(dir, name);
    if (owned(path)) continue;
    const file = await stat(path).catch(() => undefined);
    const idleMs = file ? Date.now() - file.mtimeMs : 0;
    if (file && idleMs > idleForMs) {
      await rm(path, { force: true });
      removed.push({ name, bytes: file.size, idleMs });
    }
  }
  return removed;
}
