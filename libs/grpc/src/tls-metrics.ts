import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { liveTlsFiles, tlsReloadCounts } from './reloading-tls-files.js';

/**
 * The TLS files' metrics, read on each scrape from every ReloadingTlsFiles of
 * the process:
 * - `tls_certificate_expiry_timestamp_seconds{certificate}`: when the
 *   certificate in use expires (the earliest of its file), by the variable
 *   naming the file (GRPC_TLS_CERT, GRPC_TLS_CLIENT_CA, GATEWAY_TLS_CERT, …);
 * - `tls_certificate_reloads_total{result}`: changed files taken (`reloaded`)
 *   or refused (`rejected`: broken, or a key of another certificate).
 */
@Injectable()
export class TlsMetrics {
  constructor(registry: Registry) {
    new Gauge({
      name: 'tls_certificate_expiry_timestamp_seconds',
      help: 'When the certificate in use expires (Unix time), by the variable naming its file.',
      labelNames: ['certificate'],
      registers: [registry],
      collect() {
        this.reset();
        for (const files of liveTlsFiles()) {
          for (const { certificate, notAfter } of files.expiries()) {
            this.set({ certificate }, notAfter.getTime() / 1000);
          }
        }
      },
    });
    new Counter({
      name: 'tls_certificate_reloads_total',
      help: 'Changed TLS files taken (reloaded) or refused (rejected), since start.',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        // Counters may only grow: set from the process-wide counts.
        this.reset();
        this.inc({ result: 'reloaded' }, tlsReloadCounts.reloaded);
        this.inc({ result: 'rejected' }, tlsReloadCounts.rejected);
      },
    });
  }
}
