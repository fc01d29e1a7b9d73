import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { APPS, AppProcess, freePort } from '#launcher';
import { orderCheese, orderHeaders } from './support/order-cheese.js';
import { cheesefarm } from '#proto';
import { createGrpcClient } from '#grpc';
import { AGING_DAYS } from '../src/cheese/cheese-aging.js';

describe('cheese-service over gRPC', () => {
  let app: AppProcess;
  let client: Client;

  beforeAll(async () => {
    const port = await freePort();
    app = await AppProcess.start('cheese-service', {
      port,
      env: { CHEESE_GRPC_HOST: '127.0.0.1' },
    });
    client = createGrpcClient('cheese', `127.0.0.1:${port}`);
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
  });

  it.each(Object.entries(AGING_DAYS))(
    'orders type %s and gets it back, aged in range',
    async (type, range) => {
      const cheese = await orderCheese(client, Number(type));
      expect(cheese.type).toBe(Number(type));
      expect(cheese.age).toBeGreaterThanOrEqual(range.minDays);
      expect(cheese.age).toBeLessThanOrEqual(range.maxDays);
    },
  );

  it('answers INVALID_ARGUMENT for type 42, naming the valid types', async () => {
    const err = (await orderCheese(client, 42).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('BRIE (1)');
    // ... and keeps serving.
    expect((await orderCheese(client, cheesefarm.CheeseType.BRIE)).type).toBe(
      cheesefarm.CheeseType.BRIE,
    );
  });

  it("echoes the caller's request id in the response headers", async () => {
    const sent = new Metadata();
    sent.set('x-request-id', 'cheese-e2e-7');
    expect((await orderHeaders(client, sent)).get('x-request-id')).toEqual(['cheese-e2e-7']);
  });

  it('makes a request id when the caller sends none, and its log line names it', async () => {
    const [made] = (await orderHeaders(client, new Metadata())).get('x-request-id');
    expect(made).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const line = () => app.logs.split('\n').find((l) => l.includes(`"reqId":"${String(made)}"`));
    for (let i = 0; i < 100 && !line(); i++) await sleep(50);
    expect(JSON.parse(line()!)).toMatchObject({
      msg: 'gRPC cheesefarm.CheeseService/Order OK',
      grpc: { code: 'OK', type: 'unary' },
    });
  });
});

describe('cheese-service honours deadlines', () => {
  let app: AppProcess;
  let client: Client;

  beforeAll(async () => {
    const port = await freePort();
    app = await AppProcess.start('cheese-service', {
      port,
      env: { CHEESE_GRPC_HOST: '127.0.0.1', CHEESE_PREP_MS: '400' },
    });
    client = createGrpcClient('cheese', `127.0.0.1:${port}`);
  });

  afterAll(async () => {
    client?.close();
    await app?.stop();
  });

  it('DEADLINE_EXCEEDED when preparation outlasts the deadline, a cheese when it does not', async () => {
    const err = (await orderCheese(client, 1, 100).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect((await orderCheese(client, 1, 30_000)).type).toBe(1);
  });
});

describe('cheese-service configuration', () => {
  const run = promisify(execFile);

  it.each([
    ['CHEESE_GRPC_PORT', 'abc'],
    ['CHEESE_GRPC_PORT', '70000'],
    ['CHEESE_PREP_MS', '-5'],
    ['GRPC_MAX_MESSAGE_BYTES', '12'],
  ])('stops at start-up on %s=%s with a message naming it', async (name, value) => {
    const err = (await run(process.execPath, [APPS['cheese-service'].entry], {
      env: { ...process.env, [name]: value },
      timeout: 60_000,
    }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain(`${name}="${value}"`);
  });
});
