import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Gauge, Registry } from 'prom-client';
import type { GatewayEnv } from '../config/gateway.env.js';
import { SseWriter, type SseWriterLifecycle } from './sse-writer.js';

/** How often an SSE stream with nothing to say sends a comment: well within the idle timeout. */
export function sseHeartbeatMs(idleTimeoutMs: number): number {
  return Math.min(15_000, Math.floor(idleTimeoutMs / 2));
}

/**
 * Makes the gateway's SSE writers: each with the heartbeat that keeps an
 * idle stream within GATEWAY_IDLE_TIMEOUT_MS (and proxies' own), and counted
 * in `gateway_sse_writers_open` from its headers until it lets go of its
 * response. Once every client has gone, that gauge is 0.
 */
@Injectable()
export class SseWriters {
  private readonly heartbeatMs: number;
  private open = 0;
  private readonly lifecycle: SseWriterLifecycle = {
    opened: () => this.open++,
    released: () => this.open--,
  };

  constructor(registry: Registry, config: ConfigService<GatewayEnv, true>) {
    this.heartbeatMs = sseHeartbeatMs(config.get('GATEWAY_IDLE_TIMEOUT_MS', { infer: true }));
    const gauge: Gauge = new Gauge({
      name: 'gateway_sse_writers_open',
      help: 'SSE responses being written (watch, chat): from their headers until they end or the client goes.',
      registers: [registry],
      collect: () => gauge.set(this.open),
    });
  }

  /** A writer for the event stream of `res`. */
  create(res: ServerResponse): SseWriter {
    return new SseWriter(res, { heartbeatMs: this.heartbeatMs, lifecycle: this.lifecycle });
  }
}
