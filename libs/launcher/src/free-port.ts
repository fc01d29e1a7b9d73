import { createServer } from 'node:net';

/**
 * Ports are handed out from below the kernel's ephemeral range (Linux 32768-60999,
 * macOS 49152-65535). A port handed out for an app stays unbound until the app
 * starts, seconds later on a loaded machine; in the ephemeral range anything
 * binding port 0 meanwhile (an `--inspect=127.0.0.1:0` inspector, a test's stub
 * server) or connecting out could take it. A CI run saw a gateway's port held
 * by another test's inspector, which answered its /metrics with 400.
 */
export const PORT_RANGE = { first: 20_000, last: 32_767 } as const;

/**
 * Test workers running side by side (vitest's VITEST_POOL_ID, 1 to maxWorkers)
 * take ports of their own class (port % CLASSES); other processes, any port.
 */
const CLASSES = 4;
const poolId = Number(process.env.VITEST_POOL_ID);
const ownClass = Number.isInteger(poolId) && poolId > 0 ? (poolId - 1) % CLASSES : undefined;
const step = ownClass === undefined ? 1 : CLASSES;
/** The first port of this process's class, and how many the class has. */
const offset =
  ownClass === undefined ? 0 : (ownClass - (PORT_RANGE.first % CLASSES) + CLASSES) % CLASSES;
const count = Math.floor((PORT_RANGE.last - PORT_RANGE.first - offset) / step) + 1;

/** Ports this process has returned: never twice. */
const returned = new Set<number>();
/** Where the search goes on from: at random first, so that processes one after another rarely meet. */
let cursor = Math.floor(Math.random() * count);

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, and that no other call
 * returned, in this process or in a test worker beside it. A port handed out
 * twice is worse than taken: the second app fails to bind it, yet would look
 * ready on the first one's listener (AppProcess checks who listens).
 */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < count; tried++) {
    cursor = (cursor + 1) % count;
    const port = PORT_RANGE.first + offset + cursor * step;
    if (returned.has(port) || !(await canListen(port))) continue;
    returned.add(port);
    return port;
  }
  throw new Error(`no free port left in ${PORT_RANGE.first}-${PORT_RANGE.last}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
