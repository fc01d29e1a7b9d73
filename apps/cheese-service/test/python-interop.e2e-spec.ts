import { execFile as execFileCb } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort } from '#launcher';
import { AGING_DAYS } from '../src/cheese/cheese-aging.js';

const execFile = promisify(execFileCb);

// The system interpreter, where Debian's python3-grpcio/grpc-tools live;
// the python3 on PATH may be another one without them.
const PYTHON = '/usr/bin/python3';
const TALK_DIR = fileURLToPath(new URL('./talk/', import.meta.url));

/** The talk's proto enum, copied here so a drift in ours shows up as a failure. */
const TALK_TYPES = ['EMMENTAL', 'BRIE', 'PECORINO', 'ROQUEFORT', 'CANASTRA'];

interface ClientReport {
  orders: { requested: number; type: number; type_name: string; age: number }[];
  invalid: { code: string; details: string } | null;
}

describe('cheese-service with the talk Python client', () => {
  let app: AppProcess | undefined;
  let stubsDir: string | undefined;
  let report: ClientReport;

  beforeAll(async () => {
    // Fail, never skip: CI installs the tools, so a missing one is a broken setup.
    await execFile(PYTHON, ['-c', 'import grpc, grpc_tools.protoc']).catch((err: unknown) => {
      throw new Error(
        `${PYTHON} cannot import grpc/grpc_tools; install python3-grpcio and python3-grpc-tools ` +
          `(apt-get install python3-grpcio python3-grpc-tools).\n${String(err)}`,
      );
    });

    stubsDir = await mkdtemp(join(tmpdir(), 'cheese-py-stubs-'));
    await execFile(PYTHON, [
      '-m',
      'grpc_tools.protoc',
      `-I${TALK_DIR}`,
      `--python_out=${stubsDir}`,
      `--grpc_python_out=${stubsDir}`,
      'cheese.proto',
    ]);

    const port = await freePort();
    app = await AppProcess.start('cheese-service', {
      port,
      env: { CHEESE_GRPC_HOST: '127.0.0.1' },
    });

    const { stdout } = await execFile(
      PYTHON,
      [join(TALK_DIR, 'order_cheese.py'), `127.0.0.1:${port}`, stubsDir],
      { timeout: 60_000 },
    );
    report = JSON.parse(stdout) as ClientReport;
  });

  afterAll(async () => {
    await app?.stop();
    if (stubsDir) await rm(stubsDir, { recursive: true, force: true });
  });

  it('delivers every cheese type it is asked for, aged within its range', () => {
    expect(report.orders.map((o) => o.requested)).toEqual([0, 1, 2, 3, 4]);
    for (const order of report.orders) {
      // EMMENTAL (0) travels as an empty message, so this also covers proto3 defaults.
      expect(order.type).toBe(order.requested);
      expect(order.type_name).toBe(TALK_TYPES[order.requested]);
      const range = AGING_DAYS[order.requested];
      expect(Number.isInteger(order.age)).toBe(true);
      expect(order.age).toBeGreaterThan(0);
      expect(order.age).toBeGreaterThanOrEqual(range.minDays);
      expect(order.age).toBeLessThanOrEqual(range.maxDays);
    }
  });

  it('rejects an unknown cheese type with INVALID_ARGUMENT naming the valid ones', () => {
    expect(report.invalid).not.toBeNull();
    expect(report.invalid!.code).toBe('INVALID_ARGUMENT');
    expect(report.invalid!.details).toContain('BRIE');
  });
});
