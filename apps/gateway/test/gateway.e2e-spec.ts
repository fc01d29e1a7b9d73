import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppProcess, freePort } from '#launcher';

const BRIE_DAYS = { min: 28, max: 70 };
/** The gateway's deadline here: generous, since a loaded machine answers slowly. */
const DEADLINE_MS = 5000;

describe('gateway -> cheese-service over real sockets', () => {
  let cheesePort: number;
  let cheese: AppProcess | undefined;
  let gateway: AppProcess;
  let base: string;

  const startCheese = async (env: Record<string, string> = {}) => {
    cheese = await AppProcess.start('cheese-service', {
      port: cheesePort,
      env: { CHEESE_GRPC_HOST: '127.0.0.1', ...env },
    });
  };

  const post = (body: string | undefined, contentType: string | null = 'application/json') =>
    fetch(`${base}/v1/cheese/orders`, {
      method: 'POST',
      headers: contentType ? { 'content-type': contentType } : {},
      body,
    });

  /** Sends an order until the gateway's channel has seen the new backend. */
  const orderOnceReconnected = async (): Promise<Response> => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const res = await post('{"type":"BRIE"}');
      if (res.status !== 503) return res;
      await res.arrayBuffer();
      await sleep(100);
    }
    throw new Error('gateway never reconnected to cheese-service');
  };

  const expectGoodOrder = async () => {
    const res = await orderOnceReconnected();
    expect(res.status).toBe(200);
    const cheese = (await res.json()) as { type: string; age: number };
    expect(cheese.type).toBe('BRIE');
    expect(cheese.age).toBeGreaterThanOrEqual(BRIE_DAYS.min);
    expect(cheese.age).toBeLessThanOrEqual(BRIE_DAYS.max);
  };

  beforeAll(async () => {
    cheesePort = await freePort();
    const httpPort = await freePort();
    await startCheese();
    gateway = await AppProcess.start('gateway', {
      port: httpPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: `127.0.0.1:${cheesePort}`,
        GATEWAY_DEADLINE_MS: String(DEADLINE_MS),
      },
    });
    base = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await gateway?.stop();
    await cheese?.stop();
  });

  it('GET /v1/cheeses lists the cheese types', async () => {
    const res = await fetch(`${base}/v1/cheeses`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      types: [
        { name: 'EMMENTAL', number: 0 },
        { name: 'BRIE', number: 1 },
        { name: 'PECORINO', number: 2 },
        { name: 'ROQUEFORT', number: 3 },
        { name: 'CANASTRA', number: 4 },
      ],
    });
  });

  it('POST /v1/cheese/orders {"type":"BRIE"} -> 200 with a Brie of Brie\'s age', async () => {
    await expectGoodOrder();
  });

  it.each([
    ['EMMENTAL', 'EMMENTAL'],
    [0, 'EMMENTAL'],
    [2, 'PECORINO'],
    ['CANASTRA', 'CANASTRA'],
  ])('accepts type %j and returns %s', async (type, name) => {
    const res = await post(JSON.stringify({ type }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { type: string }).type).toBe(name);
  });

  const ONE_MB = `{"type":"BRIE","pad":"${'x'.repeat(1024 * 1024)}"}`;

  it.each<[string, string | undefined, string | null, number, string, RegExp]>([
    [
      'unknown type name',
      '{"type":"GOUDA"}',
      'application/json',
      400,
      'INVALID_ARGUMENT',
      /one of EMMENTAL, BRIE/,
    ],
    [
      'type 42 (judged by cheese-service)',
      '{"type":42}',
      'application/json',
      400,
      'INVALID_ARGUMENT',
      /unknown cheese type 42; valid types: EMMENTAL \(0\)/,
    ],
    ['negative type', '{"type":-1}', 'application/json', 400, 'INVALID_ARGUMENT', /type must be/],
    [
      'fractional type',
      '{"type":1.5}',
      'application/json',
      400,
      'INVALID_ARGUMENT',
      /type must be/,
    ],
    [
      'type of the wrong JSON kind',
      '{"type":["BRIE"]}',
      'application/json',
      400,
      'INVALID_ARGUMENT',
      /type must be/,
    ],
    ['missing field', '{}', 'application/json', 400, 'INVALID_ARGUMENT', /type must be/],
    [
      'unknown field',
      '{"type":"BRIE","extra":1}',
      'application/json',
      400,
      'INVALID_ARGUMENT',
      /extra should not exist/,
    ],
    ['malformed JSON', '{"type":', 'application/json', 400, 'INVALID_ARGUMENT', /not valid JSON/],
    [
      'prototype pollution',
      '{"__proto__":{"type":1}}',
      'application/json',
      400,
      'INVALID_ARGUMENT',
      /not valid JSON/,
    ],
    ['JSON null', 'null', 'application/json', 400, 'INVALID_ARGUMENT', /type must be/],
    ['empty body', '', 'application/json', 400, 'INVALID_ARGUMENT', /empty/],
    ['missing body and content type', undefined, null, 400, 'INVALID_ARGUMENT', /type must be/],
    [
      'wrong content type',
      '{"type":"BRIE"}',
      'text/plain',
      415,
      'INVALID_ARGUMENT',
      /Unsupported Media Type/,
    ],
    [
      'form content type',
      'type=BRIE',
      'application/x-www-form-urlencoded',
      415,
      'INVALID_ARGUMENT',
      /Unsupported Media Type/,
    ],
    ['1 MB body', ONE_MB, 'application/json', 413, 'RESOURCE_EXHAUSTED', /too large/],
  ])('%s -> %i %s', async (name, body, contentType, httpStatus, grpcStatus, message) => {
    const res = await post(body, contentType);
    expect(res.status).toBe(httpStatus);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const { details, ...error } = (await res.json()) as {
      code: number;
      status: string;
      message: string;
      details?: unknown;
    };
    expect(error.status).toBe(grpcStatus);
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'status']);
    // Only cheese-service's own answer carries google.rpc details; the gateway's checks send none.
    if (name.includes('judged by cheese-service')) {
      expect(details).toContainEqual(
        expect.objectContaining({
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'UNKNOWN_CHEESE_TYPE',
        }),
      );
    } else {
      expect(details).toBeUndefined();
    }
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('unknown route -> 404 NOT_FOUND in the same error shape', async () => {
    const res = await fetch(`${base}/v1/wine/orders`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      code: 5,
      status: 'NOT_FOUND',
      message: 'Cannot POST /v1/wine/orders',
    });
  });

  it('cheese-service stopped -> 503 UNAVAILABLE', async () => {
    await cheese!.stop();
    const res = await post('{"type":"BRIE"}');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toBe('UNAVAILABLE');
  });

  it('cheese-service slower than the deadline -> 504 DEADLINE_EXCEEDED', async () => {
    await startCheese({ CHEESE_PREP_MS: String(4 * DEADLINE_MS) });
    const res = await orderOnceReconnected();
    expect(res.status).toBe(504);
    expect((await res.json()) as { code: number; status: string }).toMatchObject({
      code: 4,
      status: 'DEADLINE_EXCEEDED',
    });
    await cheese!.stop();
  });

  it('after all of that, still serves a good order', async () => {
    await startCheese();
    await expectGoodOrder();
    expect(gateway.exited).toBe(false);
  });
});
