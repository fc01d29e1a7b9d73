import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { cheesefarm, grpcServiceName, richRpcException } from '#proto';
import { AGING_DAYS, VALID_CHEESE_TYPES } from './cheese-aging.js';

/** Injection token for the simulated preparation time in ms. */
export const CHEESE_PREP_MS = Symbol('CHEESE_PREP_MS');

@Injectable()
export class CheeseOrderService {
  constructor(@Inject(CHEESE_PREP_MS) private readonly prepMs: number) {}

  /** Whether an order waits (CHEESE_PREP_MS > 0), and so can be cancelled while it does. */
  get takesTime(): boolean {
    return this.prepMs > 0;
  }

  /**
   * Prepares one cheese of `type`, aged within its type's range. `signal`
   * aborts the preparation when the caller cancels or its deadline passes.
   */
  async order(type: number, signal?: AbortSignal): Promise<cheesefarm.Cheese> {
    const range = AGING_DAYS[type];
    if (!range) {
      const message = `unknown cheese type ${type}; valid types: ${VALID_CHEESE_TYPES}`;
      throw richRpcException(status.INVALID_ARGUMENT, message, {
        reason: 'UNKNOWN_CHEESE_TYPE',
        domain: grpcServiceName('cheese'),
        metadata: { type: String(type) },
        fieldViolations: [{ field: 'type', description: message }],
      });
    }
    if (this.prepMs > 0) {
      try {
        await sleep(this.prepMs, undefined, { signal });
      } catch {
        throw new RpcException({ code: status.CANCELLED, message: 'order cancelled by caller' });
      }
    }
    return { type, age: randomInt(range.minDays, range.maxDays + 1) };
  }
}
