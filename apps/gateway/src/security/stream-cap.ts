import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { GatewayEnv } from '../config/gateway.env.js';
import { LimitMetrics } from './limit-metrics.js';
import { LimitsRedis } from './limits-redis.js';
import { StreamLeases, type StreamLease } from './stream-leases.js';

/** This replica's open streams per client address. */
export class LocalStreamCounts {
  private readonly perClient = new Map<string, number>();

  /** Counts one more stream of `client`, unless `max` are open already; whether it did. */
  admit(client: string, max = Infinity): boolean {
    const open = this.perClient.get(client) ?? 0;
    if (open >= max) return false;
    this.perClient.set(client, open + 1);
    return true;
  }

  /** Uncounts one stream of `client`. */
  release(client: string): void {
    const left = (this.perClient.get(client) ?? 1) - 1;
    if (left > 0) this.perClient.set(client, left);
    else this.perClient.delete(client);
  }

  /** Streams `client` has open here. */
  openFrom(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  /** Distinct clients with a stream open here. */
  get clients(): number {
    return this.perClient.size;
  }
}

/**
 * The cap on open streams per client address (GATEWAY_MAX_STREAMS_PER_IP):
 * SSE watches, MJPEG, chat SSE and WebSockets, uploads. With REDIS_URL the
 * streams of every replica count (StreamLeases); without it, or while Redis
 * is unusable (LimitsRedis: fail open), this replica's own. 0: no cap, the
 * streams are only counted (for the metrics).
 */
@Injectable()
export class StreamCap implements OnApplicationShutdown {
  private readonly max: number;
  private readonly local = new LocalStreamCounts();
  private readonly leases?: StreamLeases;
  private readonly renewer?: NodeJS.Timeout;

  constructor(
    private readonly redis: LimitsRedis,
    private readonly metrics: LimitMetrics,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.max = config.get('GATEWAY_MAX_STREAMS_PER_IP', { infer: true });
    metrics.countStreamClientsWith(() => this.local.clients);
    if (redis.client && this.max > 0) {
      const leases = new StreamLeases(redis.client);
      this.leases = leases;
      this.renewer = setInterval(() => {
        if (leases.held > 0)
          void redis.orElse(
            () => leases.renew(),
            () => undefined,
          );
      }, leases.leaseMs / 3);
      this.renewer.unref();
    }
  }

  /**
   * Counts one more stream of `client`: returns the function that uncounts
   * it (once, however often called), or undefined when the cap refuses it.
   */
  async admit(client: string): Promise<(() => void) | undefined> {
    let lease: StreamLease | undefined;
    if (this.max === 0) {
      this.local.admit(client);
    } else {
      const leases = this.leases;
      // 'local': no Redis, or unusable; this replica decides.
      const shared = leases
        ? await this.redis.orElse<StreamLease | 'refused' | 'local'>(
            async () => (await leases.acquire(client, this.max)) ?? 'refused',
            () => 'local',
          )
        : 'local';
      if (shared === 'refused' || (shared === 'local' && !this.local.admit(client, this.max))) {
        this.metrics.refused('streams');
        return undefined;
      }
      if (shared !== 'local') {
        lease = shared;
        this.local.admit(client);
      }
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.local.release(client);
      if (lease) this.leases!.release(lease);
    };
  }

  onApplicationShutdown(): void {
    clearInterval(this.renewer);
  }
}
