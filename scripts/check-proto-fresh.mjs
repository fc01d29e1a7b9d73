// `npm run proto:check`: fails when the generated code (ts-proto's and
// protoc-gen-es's) is not what `npm run proto:gen` makes from the .proto
// files now.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** Each template of `npm run proto:gen` and the folder it writes. */
const TEMPLATES = [
  { template: 'buf.gen.yaml', generated: 'libs/proto/src/generated' },
  { template: 'buf.gen.es.yaml', generated: 'libs/proto/src/generated-es' },
];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** The files of `generated` that differ from what `template` makes now. */
function staleFiles({ template, generated }, out) {
  execFileSync('buf', ['generate', '--template', template, '--output', out], { stdio: 'inherit' });
  const fresh = join(out, generated);
  const want = new Map(files(fresh).map((f) => [relative(fresh, f), readFileSync(f, 'utf8')]));
  const have = new Map(
    files(generated).map((f) => [relative(generated, f), readFileSync(f, 'utf8')]),
  );
  const stale = [...new Set([...want.keys(), ...have.keys()])].filter(
    (f) => want.get(f) !== have.get(f),
  );
  return { count: want.size, stale: stale.map((f) => join(generated, f)) };
}

const out = mkdtempSync(join(tmpdir(), 'proto-check-'));
try {
  const results = TEMPLATES.map((t) => staleFiles(t, out));
  const stale = results.flatMap((r) => r.stale);
  if (stale.length > 0) {
    console.error(
      `Generated code is stale; run \`npm run proto:gen\` and commit:\n  ${stale.join('\n  ')}`,
    );
    process.exit(1);
  }
  const count = results.reduce((sum, r) => sum + r.count, 0);
  console.log(`proto:check: ${count} generated files are up to date`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
