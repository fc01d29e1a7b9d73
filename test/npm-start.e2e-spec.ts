import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { freePort } from '#launcher';

const ROOT = new URL('..', import.meta.url);

/** `npm start` as a user runs it, on free ports instead of 4000/3000. */
describe('npm start', () => {
  it(
    'runs every app, serves an order through the gateway, and stops all on Ctrl-C',
    { timeout: 120_000 },
    async () => {
      const cheesePort = await freePort();
      const httpPort = await freePort();
      // Its own process group, so that SIGINT reaches every process as Ctrl-C in a terminal does.
      const child = spawn('npm', ['start', '--silent'], {
        cwd: ROOT,
        detached: true,
        env: {
          ...process.env,
          CHEESE_GRPC_PORT: String(cheesePort),
          GATEWAY_HTTP_PORT: String(httpPort),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));

      try {
        await expect
          .poll(() => output, { timeout: 60_000, interval: 200 })
          .toContain('All apps are up');
        expect(output).toContain(`http://localhost:${httpPort}/`);

        const res = await fetch(`http://127.0.0.1:${httpPort}/v1/cheese/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"type":"BRIE"}',
        });
        expect(res.status).toBe(200);
        const cheese = (await res.json()) as { type: string; age: number };
        expect(cheese.type).toBe('BRIE');
        expect(cheese.age).toBeGreaterThanOrEqual(28);
        expect(cheese.age).toBeLessThanOrEqual(70);
      } finally {
        process.kill(-child.pid!, 'SIGINT');
      }
      await once(child, 'exit');
      await expect
        .poll(() => output, { timeout: 15_000 })
        // Nest re-raises the signal after its shutdown hooks; SIGKILL would mean a hang.
        .toMatch(
          /All apps stopped \(gateway exited (0|on SIGINT), soccer-service exited (0|on SIGINT), cheese-service exited (0|on SIGINT)\)/,
        );
      // Nothing is left listening.
      await expect(fetch(`http://127.0.0.1:${httpPort}/v1/cheeses`)).rejects.toThrow();
    },
  );
});
