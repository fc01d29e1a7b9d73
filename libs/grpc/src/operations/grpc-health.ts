import {
  status as GrpcStatus,
  type Server,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/** The name `grpc.health.v1.Health` reports the whole server under. */
export const OVERALL_HEALTH = '';

type WatchCall = ServerWritableStream<{ service: string }, { status: string }>;

/**
 * `grpc.health.v1.Health` (Check, Watch, List) of one server, on
 * grpc-health-check's HealthImplementation, with the statuses derived from
 * three things:
 *
 * - the server's phase: NOT_SERVING until `serving()`, and again, for good,
 *   from `stopping()` on;
 * - per-service checks (`setCheck`): a failing check makes its service
 *   NOT_SERVING;
 * - the overall status ('') is SERVING only when every service is, so a
 *   probe of '' (Kubernetes' default) sees any failing check.
 *
 * Statuses are pushed to Watch calls only when they change. Once stopping,
 * every Watch gets NOT_SERVING and then ends with UNAVAILABLE, so a graceful
 * shutdown does not wait for health watchers that never hang up.
 */
export class GrpcHealth {
  private readonly impl = new HealthImplementation();
  private readonly failing = new Map<string, Map<string, string>>();
  private readonly published = new Map<string, ServingStatus>();
  private readonly watches = new Set<WatchCall>();
  private phase: 'starting' | 'serving' | 'stopping' = 'starting';

  /** @param services fully qualified names, e.g. 'cheesefarm.CheeseService' */
  constructor(readonly services: readonly string[]) {
    this.publish();
  }

  /** Current status of `service` ('' for the whole server); undefined when unknown. */
  status(service: string): ServingStatus | undefined {
    return this.published.get(service);
  }

  /**
   * Why `service` ('' for the whole server) is not SERVING: the server's phase
   * when it is not serving, then "check: reason" for each failing check.
   */
  problems(service: string): string[] {
    const phase = { starting: ['not listening yet'], serving: [], stopping: ['shutting down'] };
    const services = service === OVERALL_HEALTH ? this.services : [service];
    const checks = services.flatMap((name) =>
      [...(this.failing.get(name) ?? [])].map(([check, why]) => `${check}: ${why}`),
    );
    return [...phase[this.phase], ...checks];
  }

  /** Whether the server has listened (it stays so while it shuts down). */
  get started(): boolean {
    return this.phase !== 'starting';
  }

  /** Registers Health on `server` (before it serves). */
  addToServer(server: Pick<Server, 'addService'>): void {
    this.impl.addToServer({
      addService: (definition, implementation) =>
        server.addService(definition, this.trackWatches(implementation)),
    });
  }

  /** The server listens: SERVING, except for services with failing checks. */
  serving(): void {
    if (this.phase === 'starting') this.phase = 'serving';
    this.publish();
  }

  /**
   * Records check `check` of `service`: failing with `reason`, or passing
   * (reason undefined). Returns true when this changed the check's state.
   */
  setCheck(service: string, check: string, reason: string | undefined): boolean {
    if (!this.services.includes(service)) throw new Error(`unknown service ${service}`);
    const checks = this.failing.get(service) ?? new Map<string, string>();
    const changed = reason === undefined ? checks.has(check) : checks.get(check) !== reason;
    if (reason === undefined) checks.delete(check);
    else checks.set(check, reason);
    this.failing.set(service, checks);
    this.publish();
    return changed;
  }

  /** Shutdown begins: NOT_SERVING everywhere, for good; open Watch calls end. */
  stopping(): void {
    this.phase = 'stopping';
    this.publish();
    for (const call of this.watches) endWatch(call);
    this.watches.clear();
  }

  private publish(): void {
    const up = this.phase === 'serving';
    for (const service of [OVERALL_HEALTH, ...this.services]) {
      const failing =
        service === OVERALL_HEALTH
          ? [...this.failing.values()].some((checks) => checks.size > 0)
          : (this.failing.get(service)?.size ?? 0) > 0;
      const status: ServingStatus = up && !failing ? 'SERVING' : 'NOT_SERVING';
      if (this.published.get(service) === status) continue;
      this.published.set(service, status);
      this.impl.setStatus(service, status);
    }
  }

  /** Wraps Watch to keep its open calls (HealthImplementation keeps no handle on them). */
  private trackWatches(implementation: UntypedServiceImplementation): UntypedServiceImplementation {
    const watch = implementation.watch as (call: WatchCall) => void;
    return {
      ...implementation,
      watch: (call: WatchCall) => {
        watch(call); // writes the current status at once
        if (this.phase === 'stopping') {
          endWatch(call);
          return;
        }
        this.watches.add(call);
        call.once('cancelled', () => this.watches.delete(call));
      },
    };
  }
}

/** Ends a Watch with UNAVAILABLE, after the statuses already written to it. */
function endWatch(call: WatchCall): void {
  // grpc-js turns an 'error' on a server call into its status, then ends it.
  call.emit('error', {
    code: GrpcStatus.UNAVAILABLE,
    details: 'server is shutting down',
  });
}
