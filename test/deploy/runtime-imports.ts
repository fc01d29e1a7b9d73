/**
 * What the images need from node_modules: the packages the built apps import,
 * followed from their entry points through dist/ (relative imports and the
 * package.json "imports" map). The images install production dependencies
 * only, so each must be one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Static and dynamic imports and re-exports, found by TypeScript's scanner so
 * that comments and strings never count (a regex once took `from "now"` in a
 * comment for a package).
 */
function importSpecifiers(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((ref) => ref.fileName);
}

/** The packages (by name) reachable from `entries` (paths relative to `root`). */
export function runtimePackages(root: string, entries: string[]): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    imports?: Record<string, { default: string }>;
  };
  const builtins = new Set(builtinModules);
  /** package name -> first file that imports it */
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const queue = entries.map((entry) => resolve(root, entry));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!existsSync(file)) throw new Error(`${relative(root, file)} is not built (npm run build)`);
    for (const specifier of importSpecifiers(file)) {
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier));
      else if (specifier.startsWith('#')) {
        const target = pkg.imports?.[specifier]?.default;
        if (!target)
          throw new Error(`${relative(root, file)}: ${specifier} is not in package.json "imports"`);
        queue.push(resolve(root, target));
      } else if (!specifier.startsWith('node:') && !builtins.has(specifier)) {
        const name = specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/');
        if (!packages.has(name)) packages.set(name, relative(root, file));
      }
    }
  }
  return packages;
}
