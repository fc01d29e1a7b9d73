import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '#launcher';

const ROOT = new URL('..', import.meta.url);

/** `npm start` as a user runs it, on free ports instead of 4000/4001/3000. */
describe('npm start', () => {
  it(
    'runs every app, serves through the gateway, and stops all on Ctrl-C',
    // `npm start` builds first, then starts the apps one by one: minutes on a loaded machine.
    { timeout: 360_000 },
    async () => {
      const [cheesePort, soccerPort, httpPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      const mediaDir = await mkdtemp(join(tmpdir(), 'npm-start-media-'));
      // Its own process group, so that SIGINT reaches every process as Ctrl-C in a terminal does.
      const child = spawn('npm', ['start', '--silent'], {
        cwd: ROOT,
        detached: true,
        env: {
          ...process.env,
          CHEESE_GRPC_PORT: String(cheesePort),
          SOCCER_GRPC_PORT: String(soccerPort),
          GATEWAY_HTTP_PORT: String(httpPort),
          MEDIA_DIR: mediaDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));

      try {
        await expect
          .poll(() => output, { timeout: 300_000, interval: 200 })
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

        const matches = await fetch(`http://127.0.0.1:${httpPort}/v1/matches`);
        expect(matches.status).toBe(200);
        const { matches: list } = (await matches.json()) as { matches: { id: string }[] };
        expect(list.map((m) => m.id)).toEqual(['demo', 'live']);
      } finally {
        process.kill(-child.pid!, 'SIGINT');
      }
      await once(child, 'exit');
      await expect
        .poll(() => output, { timeout: 30_000 })
        // Nest re-raises the signal after its shutdown hooks; SIGKILL would mean a hang.
        .toMatch(
          /All apps stopped \(gateway exited (0|on SIGINT), soccer-service exited (0|on SIGINT), cheese-service exited (0|on SIGINT)\)/,
        );
      await rm(mediaDir, { recursive: true, force: true });
      // Nothing is left listening.
      await expect(fetch(`http://127.0.0.1:${httpPort}/v1/cheeses`)).rejects.toThrow();
    },
  );
});
