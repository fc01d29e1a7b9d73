import type { Server as TlsServer } from 'node:tls';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { reloadingTlsFiles } from '#grpc';
import type { GatewayEnv } from '../config/gateway.env.js';

/**
 * With HTTPS on (GATEWAY_TLS_CERT, GATEWAY_TLS_KEY), re-reads the two files
 * every TLS_RELOAD_INTERVAL_MS and gives a renewed pair to the listener
 * (`setSecureContext`): new connections get it, open ones keep theirs, and
 * nothing restarts. A broken or mismatched pair is reported and skipped.
 */
@Injectable()
export class HttpsCertificateReload implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: ConfigService<GatewayEnv, true>,
  ) {}

  onApplicationBootstrap(): void {
    const cert = this.config.get('GATEWAY_TLS_CERT', { infer: true });
    const key = this.config.get('GATEWAY_TLS_KEY', { infer: true });
    const intervalMs = this.config.get('TLS_RELOAD_INTERVAL_MS', { infer: true });
    if (!cert || !key || intervalMs === 0) return;
    const server = this.adapterHost.httpAdapter.getHttpServer() as TlsServer;
    const files = reloadingTlsFiles(
      {
        cert: { variable: 'GATEWAY_TLS_CERT', path: cert },
        key: { variable: 'GATEWAY_TLS_KEY', path: key },
      },
      { intervalMs, log: new Logger('Tls') },
    );
    files.onIdentity((identity) => {
      if (identity)
        server.setSecureContext({ cert: identity.certificate, key: identity.privateKey });
    });
  }
}
