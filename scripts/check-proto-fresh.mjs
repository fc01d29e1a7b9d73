// `npm run proto:check`: fails when libs/proto/src/generated is not what
// `npm run proto:gen` makes from the .proto files now.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const GENERATED = 'libs/proto/src/generated';

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const out = mkdtempSync(join(tmpdir(), 'proto-check-'));
try {
  execFileSync('buf', ['generate', '--output', out], { stdio: 'inherit' });
  const fresh = join(out, GENERATED);
  const want = new Map(files(fresh).map((f) => [relative(fresh, f), readFileSync(f, 'utf8')]));
  const have = new Map(
    files(GENERATED).map((f) => [relative(GENERATED, f), readFileSync(f, 'utf8')]),
  );
  const stale = [...new Set([...want.keys(), ...have.keys()])].filter(
    (f) => want.get(f) !== have.get(f),
  );
  if (stale.length > 0) {
    console.error(
      `Generated code is stale; run \`npm run proto:gen\` and commit:\n  ${stale.join('\n  ')}`,
    );
    process.exit(1);
  }
  console.log(`proto:check: ${want.size} generated files are up to date`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
