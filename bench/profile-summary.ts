/**
 * `node dist/bench/profile-summary.js FILE.cpuprofile [TOP]`: where a
 * --cpu-prof profile (BENCH_PROFILE=1) spent its time, as text for the
 * report: self time by package (node_modules/<pkg>, the app's own code,
 * Node internals, GC, idle) and the top functions by self time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = /\/dist\/(apps\/[^/]+|libs\/[^/]+|bench)\//.exec(url);
  return dist ? dist[1] : url;
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [TOP]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) =>
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)');
const idleUs = idle.reduce((a, [, us]) => a + us, 0);
const busy = total - idleUs;

const sum = (key: (n: ProfileNode) => string) => {
  const totals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    totals.set(key(node), (totals.get(key(node)) ?? 0) + us);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
};
const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;

console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(idleUs / 1e6).toFixed(1)} s idle`);
console.log('\nself time of the busy time, by package:');
for (const [pkg, us] of sum((n) => packageOf(n.callFrame.url, n.callFrame.functionName)).slice(
  0,
  15,
)) {
  console.log(`  ${pct(us)}  ${pkg}`);
}
console.log('\ntop functions by self time:');
const top = Number(topArg ?? 25);
for (const [fn, us] of sum(
  (n) =>
    `${n.callFrame.functionName || '(anonymous)'}  ${packageOf(n.callFrame.url, n.callFrame.functionName)}` +
    `${n.callFrame.url ? `:${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}` : ''}`,
).slice(0, top)) {
  console.log(`  ${pct(us)}  ${fn}`);
}
