// The Dockerfile's prod-deps stage: moves out of ./node_modules the packages that only
// some of package.json's dependencies need, so that only the image that loads those gets
// them (node-av and its FFmpeg build, ~200 MB, go into soccer-service alone).
//
//   node scripts/split-node-modules.mjs <dest> <dependency>...
//
// Run in the folder of package.json, after `npm ci --omit=dev`. A package moves when it is
// reached from the named dependencies only: from package.json's dependencies and
// optionalDependencies, following each installed package's dependencies,
// optionalDependencies and peerDependencies the way Node resolves them (its own
// node_modules, then each parent's). It moves to the same path under <dest>, so that
// copying <dest>/node_modules over node_modules gives back npm's tree unchanged. What
// stays is closed: every dependency of a package left resolves to a package left.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

const [dest, ...split] = process.argv.slice(2);
if (!dest || split.length === 0) {
  console.error('usage: node scripts/split-node-modules.mjs <dest> <dependency>...');
  process.exit(2);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Every installed package: its path (`node_modules/a/node_modules/@s/b`) -> package.json. */
const installed = new Map();
function scan(dir) {
  const modules = join(dir, 'node_modules');
  if (!existsSync(modules)) return;
  for (const name of readdirSync(modules)) {
    if (name.startsWith('.')) continue; // .bin, .package-lock.json
    const names = name.startsWith('@')
      ? readdirSync(join(modules, name)).map((child) => `${name}/${child}`)
      : [name];
    for (const pkg of names) {
      const path = join(modules, pkg);
      if (!existsSync(join(path, 'package.json'))) continue;
      installed.set(path, readJson(join(path, 'package.json')));
      scan(path);
    }
  }
}
scan('');

/** Where `name` resolves from the package at `from` ('' for the root), as Node finds it. */
function resolve(from, name) {
  for (let dir = from; ;) {
    const candidate = join(dir, 'node_modules', name);
    if (installed.has(candidate)) return candidate;
    if (dir === '') return undefined;
    dir = dir.slice(0, Math.max(0, dir.lastIndexOf('node_modules/') - 1));
  }
}

const dependencies = (pkg) =>
  Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies });

/** The installed packages reached from the root's dependencies `roots`. */
function reached(roots) {
  const seen = new Set();
  const next = roots.map((name) => resolve('', name)).filter(Boolean);
  while (next.length) {
    const path = next.pop();
    if (seen.has(path)) continue;
    seen.add(path);
    for (const name of dependencies(installed.get(path))) {
      const found = resolve(path, name);
      if (found) next.push(found);
    }
  }
  return seen;
}

const root = readJson('package.json');
const roots = Object.keys({ ...root.dependencies, ...root.optionalDependencies });
const unknown = split.filter((name) => !roots.includes(name) || !resolve('', name));
if (unknown.length) {
  console.error(`split-node-modules: not installed dependencies of package.json: ${unknown}`);
  process.exit(1);
}
const kept = reached(roots.filter((name) => !split.includes(name)));
const moving = [...reached(split)].filter((path) => !kept.has(path)).sort();

// A package nested in a moving one moves with it: it must be one only they need.
for (const path of moving) {
  for (const other of installed.keys()) {
    if (other.startsWith(`${path}/node_modules/`) && kept.has(other)) {
      console.error(`split-node-modules: ${other} is needed without ${split}, inside ${path}`);
      process.exit(1);
    }
  }
}

for (const path of moving.filter((p) => !moving.some((q) => p.startsWith(`${q}/`)))) {
  const target = join(dest, path);
  mkdirSync(dirname(target), { recursive: true });
  try {
    renameSync(path, target);
  } catch (err) {
    if (err.code !== 'EXDEV') throw err;
    cpSync(path, target, { recursive: true, verbatimSymlinks: true });
    rmSync(path, { recursive: true });
  }
  const scope = dirname(path); // node_modules/@scope, left empty: gone
  if (!scope.endsWith('node_modules') && readdirSync(scope).length === 0) rmdirSync(scope);
}
console.log(
  `split-node-modules: ${moving.length} of ${installed.size} packages, only for ${split.join(', ')}, ` +
    `moved to ${join(dest, 'node_modules')}:\n  ${moving.map((p) => p.replace(/^node_modules\//, '')).join(' ')}`,
);
