import { createServer, type AddressInfo, type Server } from 'node:net';

/**
 * Test workers running side by side (vitest's VITEST_POOL_ID, 1 to maxWorkers)
 * take ports from classes of their own. Linux hands out ports for bind(0) of
 * one parity only, so the class is that of `port / 2`.
 */
const CLASSES = 4;
const poolId = Number(process.env.VITEST_POOL_ID);
const ownClass = Number.isInteger(poolId) && poolId > 0 ? (poolId - 1) % CLASSES : undefined;

/** Ports this process has returned: never twice. */
const returned = new Set<number>();

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, and that no other call
 * returned, in this process or in a test worker beside it. A port handed out
 * twice is worse than taken: the second app fails to bind it, yet looks ready,
 * since its port accepts connections (the first app's), and its clients talk
 * to the wrong process. A CI run saw exactly that: two soccer-services
 * started at once, one answering for the other.
 */
export async function freePort(): Promise<number> {
  // Ports passed over stay open until one is chosen, so the kernel offers new ones.
  const held: Server[] = [];
  try {
    for (;;) {
      const server = await listenOnAnyPort();
      held.push(server);
      const { port } = server.address() as AddressInfo;
      if (returned.has(port)) continue;
      if (ownClass !== undefined && Math.floor(port / 2) % CLASSES !== ownClass) continue;
      returned.add(port);
      return port;
    }
  } finally {
    await Promise.all(held.map((server) => new Promise((closed) => server.close(closed))));
  }
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
