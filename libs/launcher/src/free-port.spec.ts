import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, PORT_RANGE } from './free-port.js';

describe('freePort', () => {
  it('never returns a port twice in a process, though each is closed at once', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 500; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(500);
  });

  it("takes its ports from this test worker's class, apart from the worker beside it", async () => {
    const poolId = Number(process.env.VITEST_POOL_ID);
    expect(poolId).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) expect((await freePort()) % 4).toBe((poolId - 1) % 4);
  });

  it('takes them below the ephemeral ports, which binding port 0 or connecting out takes', async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(PORT_RANGE.first);
      expect(port).toBeLessThanOrEqual(PORT_RANGE.last);
    }
    if (process.platform === 'linux') {
      const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
        .trim()
        .split(/\s+/)
        .map(Number);
      expect(PORT_RANGE.last).toBeLessThan(low);
    }
  });

  it('returns a port that can be listened on', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen(port, '127.0.0.1', listening);
    });
    expect(server.address()).toMatchObject({ port });
    await new Promise((closed) => server.close(closed));
  });
});
