import type { ProbeRoutes } from '#observability';
import { OVERALL_HEALTH, type GrpcHealth } from './grpc-health.js';

/**
 * A gRPC service's kubelet probes, served on its plaintext metrics port
 * (MetricsServer), whatever the gRPC port's TLS: an HTTP probe starts no
 * process, and needs no client certificate.
 *
 * - `GET /healthz` (liveness, startup): 200 once the gRPC server has listened,
 *   and while it shuts down; no check counts (a restart mends no volume).
 * - `GET /readyz[?service=NAME]` (readiness): 200 while grpc.health.v1 says
 *   SERVING for NAME ('' by default, the whole server, every check
 *   included), else 503 with the reasons; 404 for a service it does not host.
 */
export function grpcProbeRoutes(health: GrpcHealth): ProbeRoutes {
  return {
    '/healthz': () => ({
      ok: health.started,
      body: { status: health.started ? 'ok' : 'starting' },
    }),
    '/readyz': (query) => {
      const service = query.get('service') ?? OVERALL_HEALTH;
      const status = health.status(service);
      if (status === undefined) return undefined;
      return {
        ok: status === 'SERVING',
        body: { service, status, problems: health.problems(service) },
      };
    },
  };
}
