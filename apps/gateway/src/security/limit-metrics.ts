import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { LimitsRedis } from './limits-redis.js';

/** Which limit refused a request. */
export type LimitName = 'rate' | 'streams';

/**
 * The gateway's metrics of its per-client limits, by client address as
 * clientAddress resolves it (behind trusted proxies: from X-Forwarded-For),
 * never labelled by address (one series each would be unbounded):
 * - `gateway_limit_refusals_total{limit}`: requests refused with 429 by the
 *   rate limit (`rate`) or the stream cap (`streams`);
 * - `gateway_stream_clients`: distinct client addresses with a stream open
 *   on this replica;
 * - `gateway_limits_shared`: 1 while the limits are counted in Redis
 *   across replicas, 0 while each replica counts on its own.
 */
@Injectable()
export class LimitMetrics {
  private readonly refusals: Counter<'limit'>;
  private streamClients: () => number = () => 0;

  constructor(registry: Registry, redis: LimitsRedis) {
    const registers = [registry];
    this.refusals = new Counter({
      name: 'gateway_limit_refusals_total',
      help: 'Requests refused with 429 by a per-client limit: rate, or streams (the stream cap).',
      labelNames: ['limit'],
      registers,
    });
    for (const limit of ['rate', 'streams'] as const) this.refusals.inc({ limit }, 0);
    const streamClients = () => this.streamClients();
    new Gauge({
      name: 'gateway_stream_clients',
      help: 'Distinct client addresses with a stream open on this replica.',
      registers,
      collect() {
        this.set(streamClients());
      },
    });
    new Gauge({
      name: 'gateway_limits_shared',
      help: '1 while the rate limit and stream cap are counted in Redis across replicas, else 0.',
      registers,
      collect() {
        this.set(redis.usable ? 1 : 0);
      },
    });
  }

  refused(limit: LimitName): void {
    this.refusals.inc({ limit });
  }

  /** Where gateway_stream_clients is read from (the stream cap's own counts). */
  countStreamClientsWith(count: () => number): void {
    this.streamClients = count;
  }
}
