import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from './paths.js';
import type { LoadResult } from './h2load.js';

const run = promisify(execFile);

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/**
 * One autocannon run as its own process (the CLI, on this Node), so the
 * runner's event loop never competes with it; rejects unless every answer was 2xx.
 */
export async function autocannon(o: {
  url: string;
  connections: number;
  seconds: number;
  method?: string;
  body?: string;
}): Promise<LoadResult> {
  const { stdout } = await run(
    process.execPath,
    [
      `${ROOT}node_modules/autocannon/autocannon.js`,
      ...['-c', String(o.connections), '-d', String(o.seconds), '-j', '-n'],
      ...(o.method ? ['-m', o.method] : []),
      ...(o.body ? ['-H', 'content-type=application/json', '-b', o.body] : []),
      o.url,
    ],
    { maxBuffer: 16 * 1024 * 1024, timeout: (o.seconds + 60) * 1000 },
  );
  const result = JSON.parse(stdout) as AutocannonJson;
  if (result.errors || result.timeouts || result.non2xx || !result.requests.total) {
    throw new Error(
      `autocannon: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx ` +
        `of ${result.requests.total}`,
    );
  }
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
