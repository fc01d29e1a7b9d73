import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';

const run = promisify(execFile);

/** The talk-style demo clients (`npm run demo:*`) against the real services. */
describe('demo clients', () => {
  let cheese: AppProcess;
  let soccer: AppProcess;
  let mediaDir: string;

  beforeAll(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'demo-media-'));
    [cheese, soccer] = await Promise.all([
      AppProcess.start('cheese-service', {
        port: await freePort(),
        env: { CHEESE_GRPC_HOST: '127.0.0.1' },
      }),
      AppProcess.start('soccer-service', {
        port: await freePort(),
        env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: mediaDir },
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([cheese?.stop(), soccer?.stop()]);
    await rm(mediaDir, { recursive: true, force: true });
  });

  it('demo:cheese orders random cheeses and prints them', async () => {
    const { stdout } = await run(process.execPath, ['dist/scripts/demo-cheese.js', '5'], {
      env: { ...process.env, CHEESE_GRPC_URL: `127.0.0.1:${cheese.port}` },
    });
    const orders = stdout.match(
      /\[gRPC\] Received=(EMMENTAL|BRIE|PECORINO|ROQUEFORT|CANASTRA) age=\d+ days/g,
    );
    expect(orders).toHaveLength(5);
  });

  it('demo:watch prints the frame count and fps', async () => {
    const { stdout } = await run(process.execPath, ['dist/scripts/demo-watch.js', 'demo', '60'], {
      env: { ...process.env, SOCCER_GRPC_URL: `127.0.0.1:${soccer.port}` },
    });
    expect(stdout).toMatch(/^60 frames \(360, 640, 3\) in [\d.]+ s: [\d.]+ fps/m);
  });

  it('demo:watch says why when the match does not exist', async () => {
    const err = (await run(process.execPath, ['dist/scripts/demo-watch.js', 'nope'], {
      env: { ...process.env, SOCCER_GRPC_URL: `127.0.0.1:${soccer.port}` },
    }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('NOT_FOUND: no match nope');
  });
});
