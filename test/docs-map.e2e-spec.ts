/*
 * docs/architecture.md's "Where things live" names folders of this tree; a
 * folder renamed, removed or added without the map following fails here.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

/** The folders the map names: every `path/` in its rows' first column. */
async function mapFolders(): Promise<string[]> {
  const doc = await readFile(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.split('## Where things live')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((row) => [...row.split('|')[1].matchAll(/`([^`]+\/)`/g)].map((m) => m[1]));
}

/** Paths matching `pattern`, where `*` matches within one path segment. */
async function expand(pattern: string): Promise<string[]> {
  let paths = [''];
  for (const segment of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const path of paths) {
      if (!segment.includes('*')) {
        next.push(join(path, segment));
        continue;
      }
      const re = new RegExp(`^${segment.replaceAll('*', '[^/]*')}$`);
      const entries = await readdir(join(ROOT, path)).catch(() => []);
      next.push(...entries.filter((e) => re.test(e)).map((e) => join(path, e)));
    }
    paths = next;
  }
  return paths;
}

describe('docs/architecture.md: where things live', () => {
  it('names only folders that exist', async () => {
    const folders = await mapFolders();
    expect(folders.length).toBeGreaterThan(20);
    for (const folder of folders) {
      const paths = await expand(folder);
      expect(paths, folder).not.toEqual([]);
      for (const path of paths) {
        expect((await stat(join(ROOT, path))).isDirectory(), path).toBe(true);
      }
    }
  });

  it('names every folder of an app or lib source, or one above it', async () => {
    const named = (await Promise.all((await mapFolders()).map(expand))).flat();
    const folders = [...(await expand('apps/*/src/*/')), ...(await expand('libs/*/src/*/'))];
    for (const path of folders) {
      if (!(await stat(join(ROOT, path))).isDirectory()) continue;
      const covered = named.some((n) => path === n || path.startsWith(`${n}/`));
      expect(covered, `${path}/ is not in the map`).toBe(true);
    }
  });
});
