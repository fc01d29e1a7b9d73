import { describe, expect, it } from 'vitest';
import { Test } from '@nestjs/testing';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import type { Metadata } from '@grpc/grpc-js';
import { cheesefarm, statusDetailsJson, statusFromTrailers } from '#proto';
import { AGING_DAYS } from './cheese-aging.js';
import { CHEESE_PREP_MS, CheeseOrderService } from './cheese-order.service.js';

async function orderService(prepMs = 0): Promise<CheeseOrderService> {
  const moduleRef = await Test.createTestingModule({
    providers: [CheeseOrderService, { provide: CHEESE_PREP_MS, useValue: prepMs }],
  }).compile();
  return moduleRef.get(CheeseOrderService);
}

function rpcError(e: unknown): { code: number; message: string; metadata?: Metadata } {
  expect(e).toBeInstanceOf(RpcException);
  return (e as RpcException).getError() as { code: number; message: string; metadata?: Metadata };
}

describe('CheeseOrderService', () => {
  it('has an aging range for every cheese type of the proto', () => {
    const types = Object.values(cheesefarm.CheeseType)
      .filter((v) => typeof v === 'number')
      .map(Number)
      .filter((n) => n >= 0);
    expect(Object.keys(AGING_DAYS).map(Number).sort()).toEqual(types.sort());
    for (const range of Object.values(AGING_DAYS)) {
      expect(range.minDays).toBeGreaterThan(0);
      expect(range.maxDays).toBeGreaterThan(range.minDays);
    }
  });

  it('returns the type ordered, aged within its range, across many orders', async () => {
    const service = await orderService();
    for (const [type, { minDays, maxDays }] of Object.entries(AGING_DAYS)) {
      const ages = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const cheese = await service.order(Number(type));
        expect(cheese.type).toBe(Number(type));
        expect(Number.isInteger(cheese.age)).toBe(true);
        expect(cheese.age).toBeGreaterThanOrEqual(minDays);
        expect(cheese.age).toBeLessThanOrEqual(maxDays);
        ages.add(cheese.age);
      }
      // Ages are drawn, not fixed.
      expect(ages.size).toBeGreaterThan(10);
    }
  });

  it.each([42, -1, 5])(
    'rejects unknown type %i with INVALID_ARGUMENT listing the valid ones',
    async (type) => {
      const service = await orderService();
      const err = rpcError(await service.order(type).catch((e: unknown) => e));
      const message = `unknown cheese type ${type}; valid types: EMMENTAL (0), BRIE (1), PECORINO (2), ROQUEFORT (3), CANASTRA (4)`;
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, message });
      // The same error, machine-readable, in grpc-status-details-bin.
      const rich = statusFromTrailers(err.metadata);
      expect(rich).toMatchObject({ code: status.INVALID_ARGUMENT, message });
      expect(statusDetailsJson(rich!)).toEqual([
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'UNKNOWN_CHEESE_TYPE',
          domain: 'cheesefarm.CheeseService',
          metadata: { type: String(type) },
        },
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [{ field: 'type', description: message }],
        },
      ]);
    },
  );

  it('takes the simulated preparation time', async () => {
    const service = await orderService(150);
    const started = performance.now();
    await service.order(cheesefarm.CheeseType.BRIE);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('stops preparing at once when the caller cancels', async () => {
    const service = await orderService(60_000);
    const controller = new AbortController();
    const pending = service.order(cheesefarm.CheeseType.BRIE, controller.signal);
    setTimeout(() => controller.abort(), 20);
    const err = rpcError(await pending.catch((e: unknown) => e));
    expect(err.code).toBe(status.CANCELLED);
  });
});
