import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How long an open stream counts in Redis without being renewed. */
const STREAM_LEASE_MS = 30_000;

/**
 * Admits a stream when fewer than ARGV[1] leases of KEYS[1] (one client's
 * streams, a sorted set of lease ids scored by expiry) are live: expired
 * leases are dropped first, so a replica that died stops counting once its
 * leases run out. Times are Redis's (TIME), so replicas' clocks never matter.
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
`;

/**
 * Renews the leases ARGV[2..] of the keys KEYS[1..] (pairwise) for ARGV[1]
 * ms; one that had expired (Redis restarted, a long pause) is counted again,
 * as its stream is still open.
 */
const RENEW_SCRIPT = `
local t = redis.call('TIME')
local lease = tonumber(ARGV[1])
local expires = t[1] * 1000 + math.floor(t[2] / 1000) + lease
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, expires, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return #KEYS
`;

/** Leases renewed per script call. */
const RENEW_BATCH = 256;

/** One stream counted in Redis. */
export interface StreamLease {
  readonly key: string;
  readonly id: string;
}

/**
 * The stream cap's counts in Redis, shared by the gateway replicas: per
 * client address a sorted set `gateway:streams:<address>` of leases, one per
 * open stream. This replica renews its leases every third of `leaseMs`, and
 * removes each when its stream closes; the leases of a replica that crashed
 * expire after `leaseMs`, so its streams stop counting then.
 */
export class StreamLeases {
  /** Prefix of every lease id of this process. */
  private readonly owner = randomUUID();
  private next = 0;
  private readonly open = new Set<StreamLease>();

  constructor(
    private readonly redis: Redis,
    readonly leaseMs = STREAM_LEASE_MS,
  ) {}

  /** Takes a lease for one more stream of `client` unless it has `max` live: the lease, or undefined. */
  async acquire(client: string, max: number): Promise<StreamLease | undefined> {
    const lease = { key: `gateway:streams:${client}`, id: `${this.owner}:${this.next++}` };
    const admitted = await this.redis.eval(
      ACQUIRE_SCRIPT,
      1,
      lease.key,
      max,
      lease.id,
      this.leaseMs,
    );
    if (admitted !== 1) return undefined;
    this.open.add(lease);
    return lease;
  }

  /** Gives a lease back (its stream closed). Failing is harmless: it expires. */
  release(lease: StreamLease): void {
    if (!this.open.delete(lease)) return;
    this.redis.zrem(lease.key, lease.id).catch(() => undefined);
  }

  /** Renews every lease still held; rejects when Redis does not answer. */
  async renew(): Promise<void> {
    const leases = [...this.open];
    for (let i = 0; i < leases.length; i += RENEW_BATCH) {
      const batch = leases.slice(i, i + RENEW_BATCH);
      await this.redis.eval(
        RENEW_SCRIPT,
        batch.length,
        ...batch.map((l) => l.key),
        this.leaseMs,
        ...batch.map((l) => l.id),
      );
    }
  }

  /** Leases held by this process. */
  get held(): number {
    return this.open.size;
  }
}
