/**
 * scripts/split-node-modules.mjs, the Dockerfile's prod-deps step that keeps node-av
 * out of every image but soccer-service, on a small installed tree made here: what
 * only the named dependency reaches moves, at the same path; what anything else
 * reaches stays, nested copies and scopes included.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = new URL('../scripts/split-node-modules.mjs', import.meta.url).pathname;

describe('scripts/split-node-modules.mjs', () => {
  let dir: string;

  /** A package at `path` (relative to `dir`) with package.json `fields`. */
  const pkg = (path: string, fields: Record<string, unknown> = {}) => {
    mkdirSync(join(dir, path), { recursive: true });
    writeFileSync(
      join(dir, path, 'package.json'),
      JSON.stringify({ name: path.split('node_modules/').pop(), ...fields }),
    );
  };
  const split = (...args: string[]) =>
    spawnSync(process.execPath, [SCRIPT, join(dir, 'out'), ...args], {
      cwd: dir,
      encoding: 'utf8',
    });
  const present = (paths: string[], root = '') =>
    Object.fromEntries(paths.map((path) => [path, existsSync(join(dir, root, path))]));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'split-node-modules-'));
    pkg('', { dependencies: { app: '1', heavy: '1' } });
    pkg('node_modules/app', { dependencies: { shared: '1', only: '2', '@s/kept': '1' } });
    pkg('node_modules/app/node_modules/only'); // app's own copy: stays
    pkg('node_modules/shared');
    pkg('node_modules/@s/kept');
    pkg('node_modules/heavy', {
      dependencies: { shared: '1', only: '1', nested: '1' },
      optionalDependencies: { 'not-installed': '1' },
    });
    pkg('node_modules/heavy/node_modules/nested', { peerDependencies: { '@s/moved': '1' } });
    pkg('node_modules/only', { dependencies: { '@s/moved': '1' } });
    pkg('node_modules/@s/moved');
    writeFileSync(join(dir, 'node_modules/.package-lock.json'), '{}');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('moves what only the named dependency reaches, at the same paths', () => {
    const { status, stdout, stderr } = split('heavy');
    expect(status, stderr).toBe(0);
    expect(stdout).toContain('4 of 8 packages, only for heavy');
    const moved = [
      'node_modules/heavy',
      'node_modules/heavy/node_modules/nested',
      'node_modules/only',
      'node_modules/@s/moved',
    ];
    const kept = [
      'node_modules/app',
      'node_modules/app/node_modules/only',
      'node_modules/shared',
      'node_modules/@s/kept',
      'node_modules/.package-lock.json',
    ];
    expect(present(moved, 'out')).toEqual(Object.fromEntries(moved.map((p) => [p, true])));
    expect(present(moved)).toEqual(Object.fromEntries(moved.map((p) => [p, false])));
    expect(present(kept)).toEqual(Object.fromEntries(kept.map((p) => [p, true])));
  });

  it('removes a scope folder it empties', () => {
    rmSync(join(dir, 'node_modules/@s/kept'), { recursive: true });
    pkg('node_modules/app', { dependencies: { shared: '1', only: '2' } });
    expect(split('heavy').status).toBe(0);
    expect(present(['node_modules/@s', 'out/node_modules/@s/moved'])).toEqual({
      'node_modules/@s': false,
      'out/node_modules/@s/moved': true,
    });
  });

  it('refuses a name that is not an installed dependency of package.json, moving nothing', () => {
    const { status, stderr } = split('shared');
    expect(status).toBe(1);
    expect(stderr).toContain('not installed dependencies of package.json: shared');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
