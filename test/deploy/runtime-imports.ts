/**
 * What the images need from node_modules: the packages the built apps import,
 * followed from their entry points through dist/ (relative imports and the
 * package.json "imports" map). The images install production dependencies
 * only, so each must be one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

/** Static `import … from 'x'`, `export … from 'x'`, `import('x')`, `import 'x'`. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\1/g;

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
    for (const [, , specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
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
