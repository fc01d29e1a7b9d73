/*
 * docs/configuration.md is generated from the env classes (`npm run
 * docs:config`); a variable added, removed, re-documented or given a new
 * default without regenerating it fails here.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'dist/scripts/config-docs.js');

/** Exit code and stderr of the generator's `--check` against `file`. */
async function check(file?: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [SCRIPT, '--check', ...(file ? [file] : [])], {
      cwd: ROOT,
    });
    return { code: 0, stderr };
  } catch (err) {
    const failed = err as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('docs/configuration.md', () => {
  it('is what the env classes generate', async () => {
    expect(await check()).toEqual({ code: 0, stderr: '' });
  });

  it('names every variable of every app, once', async () => {
    const doc = await readFile(join(ROOT, 'docs/configuration.md'), 'utf8');
    const rows = doc.split('\n').filter((line) => /^\| `[A-Z_]+`/.test(line));
    const names = rows.map((row) => /`([A-Z_]+)`/.exec(row)![1]);
    expect(new Set(names).size).toBe(names.length);
    for (const name of ['CHEESE_PREP_MS', 'MEDIA_DIR', 'GATEWAY_API_KEYS', 'GRPC_AUTH_TOKEN']) {
      expect(names).toContain(name);
    }
  });

  it('fails the check, saying how to fix it, when a row is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'config-docs-'));
    try {
      const doc = await readFile(join(ROOT, 'docs/configuration.md'), 'utf8');
      const stale = join(dir, 'configuration.md');
      await writeFile(stale, doc.replace(/^\| `CHEESE_PREP_MS`.*\n/m, ''));
      const { code, stderr } = await check(stale);
      expect(code).toBe(1);
      expect(stderr).toContain('run npm run docs:config');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
