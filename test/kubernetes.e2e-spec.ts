/**
 * CI's checks of the Kubernetes manifests, offline (`kubectl kustomize`, no
 * cluster): every overlay, every per-service kustomization of each overlay
 * and every service's base is rendered, validated against the schemas
 * (Kubernetes' and the Prometheus Operator's CRDs) and held to the project's
 * rules, one per finding of issue 17 among them (docs/deploy.md, "Findings").
 * The same checks run on the manifests as they were before (a rendered copy
 * in test/fixtures/deploy/k8s/old-manifests/) and on a broken overlay, and
 * must report each break: the checks can fail.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { APPS, type AppName } from '#launcher';
import { GatewayEnv } from '../apps/gateway/src/config/gateway.env.js';
import { DOCS_PATH, OPENAPI_JSON_PATH } from '../apps/gateway/src/openapi/openapi.js';
import type { ComposeConfig } from './deploy/compose.js';
import {
  checkProjectRules,
  kustomize,
  kustomizeVersion,
  referencedSecrets,
  validateObjects,
  type KubeObject,
  type KubeRules,
} from './deploy/kubernetes.js';
import {
  alertRules,
  checkMonitoring,
  metricNames,
  type MonitoringRules,
} from './deploy/monitoring.js';
import { ROOT } from './deploy/tools.js';

const APP_NAMES = Object.keys(APPS) as AppName[];
const GRPC_APPS = APP_NAMES.filter((name) => name !== 'gateway');
const K8S = join(ROOT, 'deploy/k8s');
const FIXTURES = join(ROOT, 'test/fixtures/deploy/k8s');
const read = (path: string) => readFile(join(ROOT, path), 'utf8');

const ENVIRONMENTS = ['dev', 'prod'] as const;
/** What each overlay is made of, each applied on its own too. */
const UNITS = ['namespace', 'redis', ...APP_NAMES] as const;
const SERVICES = [...APP_NAMES, 'redis'] as const;
/** Where traces go in prod (docs/deploy.md names it). */
const COLLECTOR = 'http://otel-collector.monitoring.svc.cluster.local:4318';

const KUBE_RULES: KubeRules = {
  apps: APP_NAMES,
  grpcApps: GRPC_APPS,
  appLabel: 'app.kubernetes.io/name',
  defaultShutdownGraceMs: 10_000,
  // serveUntilSignal / closeOnSignal: closing may take 5 s after the grace period.
  closeAfterGraceSeconds: 5,
  gatewayIdleTimeoutDefaultMs: new GatewayEnv().GATEWAY_IDLE_TIMEOUT_MS,
  // The gateway's routes for the cluster only (metrics, probes, the API docs).
  internalPaths: ['/metrics', '/healthz', '/readyz', DOCS_PATH, OPENAPI_JSON_PATH],
};

/** What each app's alerts must watch: a pattern one alert expression matches, each. */
const COMMON_ALERTS = {
  readiness: /kube_deployment_status_replicas_available/,
  'HPA at max': /kube_horizontalpodautoscaler_spec_max_replicas/,
  'certificate expiry': /tls_certificate_expiry_timestamp_seconds/,
};
const GRPC_SERVER_ALERTS = {
  'error rate by gRPC code': /by \([^)]*grpc_code[^)]*\) \(rate\(grpc_server_handled_total/,
  'p99 latency': /histogram_quantile\(0\.99,[\s\S]*grpc_server_handling_seconds_bucket/,
};
const MONITORING: MonitoringRules = {
  monitoringNamespace: 'monitoring',
  alerts: {
    'cheese-service': { ...COMMON_ALERTS, ...GRPC_SERVER_ALERTS },
    'soccer-service': {
      ...COMMON_ALERTS,
      ...GRPC_SERVER_ALERTS,
      soccer_chat_available: /soccer_chat_available/,
      'media volume usage': /soccer_media_volume_available_bytes/,
    },
    gateway: {
      ...COMMON_ALERTS,
      'error rate by gRPC code': /by \([^)]*grpc_code[^)]*\) \(rate\(grpc_client_handled_total/,
      'p99 latency': /histogram_quantile\(0\.99,[\s\S]*http_request_duration_seconds_bucket/,
      'backends down': /gateway_backend_up/,
    },
  },
};

interface Render {
  objects: KubeObject[];
  /** The whole stack it is deployed with (cross-service references are looked up there). */
  environment: KubeObject[];
}

const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const workload = (objects: KubeObject[], name: string) =>
  objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as
    (KubeObject & { spec: { template: { spec: { containers: ContainerView[] } } } }) | undefined;

interface ContainerView {
  image: string;
  env?: { name: string; value?: string }[];
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
}

describe('Kubernetes manifests (kustomize)', () => {
  /** By directory under deploy/k8s. */
  const renders = new Map<string, Render>();
  const objectsOf = (dir: string) => renders.get(dir)!.objects;

  beforeAll(async () => {
    // `labels:`, components, inline patch targets with regexes: kustomize v5 (kubectl ≥ 1.27).
    expect(await kustomizeVersion()).toMatch(/^v[5-9]\./);
    const build = async (dir: string) => {
      const { problems, objects } = await kustomize(join(K8S, dir));
      expect(problems).toEqual([]);
      return objects;
    };
    const bases = await Promise.all(SERVICES.map((s) => build(`services/${s}`)));
    SERVICES.forEach((s, i) => renders.set(`services/${s}`, { objects: bases[i], environment: bases.flat() })); // prettier-ignore
    for (const env of ENVIRONMENTS) {
      const whole = await build(`overlays/${env}`);
      renders.set(`overlays/${env}`, { objects: whole, environment: whole });
      const units = await Promise.all(UNITS.map((u) => build(`overlays/${env}/${u}`)));
      UNITS.forEach((u, i) => renders.set(`overlays/${env}/${u}`, { objects: units[i], environment: whole })); // prettier-ignore
    }
  }, 120_000);

  const ALL = [
    ...SERVICES.map((s) => `services/${s}`),
    ...ENVIRONMENTS.flatMap((env) => [
      `overlays/${env}`,
      ...UNITS.map((u) => `overlays/${env}/${u}`),
    ]),
  ];

  it('has a base per service, and the dev and prod overlays made of one kustomization per service', async () => {
    expect((await readdir(join(K8S, 'services'))).sort()).toEqual([...SERVICES].sort());
    for (const env of ENVIRONMENTS) {
      const { resources } = parse(await read(`deploy/k8s/overlays/${env}/kustomization.yaml`)) as { resources: string[] }; // prettier-ignore
      expect(resources.sort()).toEqual([...UNITS].sort());
    }
  }); // prettier-ignore

  it.each(ALL)('%s: every object is valid against its schema, no unknown field', (dir) => {
    const objects = objectsOf(dir);
    expect(objects.length).toBeGreaterThan(1);
    expect(validateObjects(objects)).toEqual([]);
  });

  it.each(ALL)('%s: keeps the project rules', (dir) => {
    const { objects, environment } = renders.get(dir)!;
    expect(checkProjectRules(objects, KUBE_RULES, environment)).toEqual([]);
  });

  it.each(ENVIRONMENTS)(
    '%s: the overlay is exactly its per-service kustomizations, which share no object',
    (env) => {
      const whole = objectsOf(`overlays/${env}`);
      const seen = new Map<string, string>();
      for (const unit of UNITS) {
        for (const object of objectsOf(`overlays/${env}/${unit}`)) {
          expect(seen.get(key(object)), `${key(object)} in ${unit}`).toBeUndefined();
          seen.set(key(object), unit);
          expect(whole.find((o) => key(o) === key(object))).toEqual(object);
        }
      }
      expect(whole.map(key).sort()).toEqual([...seen.keys()].sort());
    },
  );

  it.each(ENVIRONMENTS.flatMap((env) => APP_NAMES.map((app) => [env, app] as const)))(
    '%s/%s on its own: its Deployment, ServiceAccount, ConfigMap, Service, HPA, PDB and NetworkPolicy, its own image only',
    (env, app) => {
      const objects = objectsOf(`overlays/${env}/${app}`);
      for (const kind of [
        'Deployment',
        'ServiceAccount',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'NetworkPolicy',
      ]) {
        // prettier-ignore
        expect(objects.some((o) => o.kind === kind && o.metadata.name === app), `${kind}/${app}`).toBe(true); // prettier-ignore
      }
      expect(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith(`${app}-`))).toBe(true); // prettier-ignore
      const images = objects
        .filter((o) => o.kind === 'Deployment')
        .flatMap((d) => workload([d], d.metadata.name)!.spec.template.spec.containers.map((c) => c.image)); // prettier-ignore
      expect(images.length).toBeGreaterThan(0);
      for (const image of images) expect(image).toMatch(new RegExp(`/${app}:`));
      expect(objects.every((o) => o.metadata.namespace === (env === 'dev' ? 'cheese-farm-dev' : 'cheese-farm'))).toBe(true); // prettier-ignore
    },
  );

  it.each(ENVIRONMENTS)(
    '%s: image tags are set per service, each in its own kustomization',
    async (env) => {
      // prettier-ignore
      for (const app of APP_NAMES) {
      const { images } = parse(await read(`deploy/k8s/overlays/${env}/${app}/kustomization.yaml`)) as { images: { name: string }[] }; // prettier-ignore
      expect(images.map((i) => i.name)).toEqual([`cheese-farm-soccer/${app}`]);
    }
      expect(await read(`deploy/k8s/overlays/${env}/kustomization.yaml`)).not.toMatch(/^images:/m);
    },
  );

  it('dev runs without any Secret; prod requires each one docs/deploy.md tells to create', async () => {
    const dev = referencedSecrets(objectsOf('overlays/dev'));
    expect([...dev].filter(([, { optional }]) => !optional)).toEqual([]);
    const prod = referencedSecrets(objectsOf('overlays/prod'));
    expect([...prod.keys()].sort()).toEqual([
      'cheese-farm-tokens',
      'gateway-tls',
      'grpc-client-tls',
      'grpc-server-tls',
    ]);
    expect([...prod].filter(([, { optional }]) => optional)).toEqual([]);
    const docs = await read('docs/deploy.md');
    for (const name of prod.keys()) expect(docs, `docs/deploy.md names Secret ${name}`).toContain(name); // prettier-ignore
  });

  it('probes over HTTP, in dev and prod alike: the services on their metrics port, whatever TLS', () => {
    for (const env of ENVIRONMENTS) {
      for (const app of APP_NAMES) {
        const [container] = workload(objectsOf(`overlays/${env}`), app)!.spec.template.spec.containers; // prettier-ignore
        for (const probe of [
          container.startupProbe,
          container.readinessProbe,
          container.livenessProbe,
        ]) {
          // prettier-ignore
          expect(probe?.httpGet, `${env} ${app}`).toMatchObject({ port: app === 'gateway' ? 'http' : 'metrics' }); // prettier-ignore
        }
      }
    }
  });

  it('prod sends traces to the documented collector, from every app; dev sends none', async () => {
    for (const app of APP_NAMES) {
      const env = (overlay: string) =>
        workload(objectsOf(overlay), app)!.spec.template.spec.containers[0].env ?? [];
      expect(env('overlays/prod').find((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value).toBe(COLLECTOR); // prettier-ignore
      expect(env('overlays/dev').some((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')).toBe(false);
    }
    expect(
      (await read('docs/deploy.md')).includes(COLLECTOR),
      'docs/deploy.md names the collector',
    ).toBe(true);
  });

  it.each(['overlays/prod', ...APP_NAMES.map((app) => `overlays/prod/${app}`)])(
    '%s: each app has its PodMonitor and alerts (readiness, errors by gRPC code, p99, HPA at max, certificate expiry, …)',
    (dir) => {
      const objects = objectsOf(dir);
      expect(objects.filter((o) => o.kind === 'PodMonitor').length).toBeGreaterThan(0);
      expect(checkMonitoring(objects, MONITORING)).toEqual([]);
    },
  );

  it("every metric an alert reads is one the apps export, or kube-state-metrics' or Prometheus's own", async () => {
    // prettier-ignore
    const sources = await appSources();
    const names = new Set(
      [...alertRules(objectsOf('overlays/prod')).values()].flat().flatMap((rule) => metricNames(rule.expr)), // prettier-ignore
    );
    expect(names.size).toBeGreaterThan(10);
    for (const name of names) {
      if (/^kube_/.test(name) || name === 'up') continue;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const exported = [base, base.replace(/^grpc_(server|client)_/, 'grpc_${side}_')];
      expect(exported.some((n) => sources.includes(`'${n}'`) || sources.includes(`\`${n}\``)), name).toBe(true); // prettier-ignore
    }
  });

  it('the media claim names its storage class, and an overlay of your own can set another', async () => {
    for (const dir of ['overlays/dev', 'overlays/prod']) {
      const claim = objectsOf(dir).find((o) => o.kind === 'PersistentVolumeClaim')!;
      expect((claim.spec as { storageClassName?: string }).storageClassName).toBeTruthy();
    }
    const mine = await mkdtemp(join(tmpdir(), 'k8s-overlay-'));
    try {
      await writeFile(
        join(mine, 'kustomization.yaml'),
        [
          'resources:',
          `  - ${relative(mine, join(K8S, 'overlays/prod/soccer-service'))}`,
          'patches:',
          '  - target: { kind: PersistentVolumeClaim, name: soccer-media }',
          '    patch: |-',
          '      - { op: replace, path: /spec/storageClassName, value: my-rwx-class }',
          '',
        ].join('\n'),
      );
      const { problems, objects } = await kustomize(mine);
      expect(problems).toEqual([]);
      const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim')!;
      expect(claim.spec).toMatchObject({ storageClassName: 'my-rwx-class', accessModes: ['ReadWriteMany'] }); // prettier-ignore
    } finally {
      await rm(mine, { recursive: true, force: true });
    }
  });

  it('runs the Redis compose runs', async () => {
    const redis = workload(objectsOf('overlays/prod'), 'redis')!;
    const compose = parse(await read('docker-compose.yml')) as ComposeConfig;
    expect(redis.spec.template.spec.containers[0].image).toBe(compose.services.redis.image);
  });
});

describe('the checks fail where they should', () => {
  /** The manifests as they were before issue 17, rendered (dev and prod overlays). */
  const old = async (env: string) =>
    parseAllDocuments(await readFile(join(FIXTURES, 'old-manifests', `${env}.yaml`), 'utf8'))
      .map((doc) => doc.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null);

  it('report every finding of issue 17 on the manifests before it', async () => {
    const [dev, prod] = await Promise.all([old('dev'), old('prod')]);
    const problems = [
      ...checkProjectRules(prod, KUBE_RULES),
      ...checkMonitoring(prod, MONITORING),
    ];
    expect(problems).toEqual(
      expect.arrayContaining([
        // 1. the media claim
        'PersistentVolumeClaim/soccer-media: no storageClassName (the default class may not offer ReadWriteMany)',
        // 2. a startup probe that depends on the media check (prod: the readiness script)
        "Deployment/soccer-service container soccer-service: startupProbe is the readiness check, which includes the service's checks",
        // 3. the ACME solver
        'Ingress/gateway: no NetworkPolicy lets the cert-manager HTTP-01 solver (port 8089) be reached',
        // 4. unready pods block drains
        'PodDisruptionBudget/gateway: unready pods cannot be evicted (unhealthyPodEvictionPolicy is not AlwaysAllow): a drain waits on them',
        // 5. keep-alive
        'Ingress/gateway: no cheese-farm-soccer/upstream-keepalive-timeout-seconds (the controller\'s upstream keep-alive, in seconds)',
        // 7. a Node process per probe
        'Deployment/cheese-service container cheese-service: readinessProbe starts a Node process on every probe (node dist/scripts/healthcheck.js cheese-service --service cheesefarm.CheeseService): probe over HTTP instead',
        // 8. internal paths on the Ingress
        'Ingress/gateway: path / (Prefix) exposes /metrics',
        'Ingress/gateway: path / (Prefix) exposes /readyz',
        'Ingress/gateway: path / (Prefix) exposes /docs',
        // 9. spread, ServiceAccounts, egress, the client certificate
        'Deployment/gateway: no topology spread or anti-affinity over kubernetes.io/hostname',
        'Deployment/cheese-service: runs as the default ServiceAccount',
        'Deployment/soccer-service: no egress NetworkPolicy: its pods may connect anywhere',
        'Deployment/cheese-service: holds a gRPC client certificate (GRPC_TLS_CLIENT_CERT): only the gateway may',
        'Deployment/soccer-service: mounts Secret grpc-client-tls, the gateway\'s client certificate',
        // monitoring
        'cheese-service: no PodMonitor selects its pods',
        'soccer-service: no PrometheusRule',
      ]),
    );
    // dev: the startup probe is gRPC health; its media claim is as unnamed.
    expect(checkProjectRules(dev, KUBE_RULES)).toEqual(
      expect.arrayContaining([
        'PersistentVolumeClaim/soccer-media: no storageClassName (the default class may not offer ReadWriteOnce)',
        "Deployment/soccer-service container soccer-service: startupProbe is gRPC health (''), which includes the service's checks (the media volume): probe /healthz instead",
      ]),
    );
    // 5 with the annotation: an idle timeout at the old default (30 s) under a 60 s proxy.
    const gateway = prod.find((o) => o.kind === 'Ingress')!;
    gateway.metadata.annotations!['cheese-farm-soccer/upstream-keepalive-timeout-seconds'] = '60'; // prettier-ignore
    expect(checkProjectRules(prod, { ...KUBE_RULES, gatewayIdleTimeoutDefaultMs: 30_000 })).toContain(
      "gateway: GATEWAY_IDLE_TIMEOUT_MS=30000 is not above Ingress/gateway's upstream keep-alive (60 s): the proxy reuses connections the gateway closed (502s)",
    );
  }, 60_000); // prettier-ignore

  it('reject a broken overlay (the same checks fail)', async () => {
    const { problems: built, objects } = await kustomize(join(FIXTURES, 'broken-overlay'));
    expect(built).toEqual([]);
    const problems = [
      ...validateObjects(objects),
      ...checkProjectRules(objects, KUBE_RULES),
      ...checkMonitoring(objects, MONITORING),
    ];
    expect(problems).toEqual(
      expect.arrayContaining([
        // schema and unknown fields
        'HorizontalPodAutoscaler/gateway: schema: data/spec/minReplicas must be integer',
        'Deployment/cheese-service: unknown field spec.template.spec.containers[0].readinessProbe.httpGet.pth',
        'Deployment/gateway: unknown field spec.template.spec.automountServiceAcountToken',
        "PrometheusRule/cheese-service: schema: data/spec/groups/0/rules/0 must have required property expr",
        // project rules
        'Deployment/cheese-service container cheese-service: no cpu limits',
        'Deployment/cheese-service container cheese-service: no memory limits',
        'Deployment/cheese-service container cheese-service: livenessProbe starts a Node process on every probe (node other-check.js): probe over HTTP instead',
        'Deployment/soccer-service container soccer-service: livenessProbe has 2 handlers (grpc, httpGet); exactly one',
        expect.stringMatching(/^Deployment\/soccer-service: terminationGracePeriodSeconds 5 does not match SHUTDOWN_GRACE_MS=10000/),
        'Deployment/gateway container gateway: readOnlyRootFilesystem is not true',
        'gateway: CHEESE_GRPC_URL=cheese-service:4000 is not dns:///<service>.<namespace>.svc.cluster.local:<port>',
        "Service/cheese-service: a gRPC Service must be headless (clusterIP: None), or one pod takes all of a client's calls",
        "NetworkPolicy/soccer-service: lets more than the gateway reach soccer-service's gRPC port",
        'Deployment/talk-demo container talk-demo: runAsNonRoot is not true',
        'Deployment/talk-demo container talk-demo: no memory requests',
        'Deployment/talk-demo container talk-demo: no readinessProbe',
        'Deployment/talk-demo container talk-demo: no livenessProbe',
        'Deployment/talk-demo container talk-demo: image python:latest is not pinned to a version',
        "Service/talk-demo: a gRPC Service must be headless (clusterIP: None), or one pod takes all of a client's calls",
        'Deployment/gateway: no egress rule lets it reach SOCCER_GRPC_URL (Service soccer-service) on port 4001',
        // monitoring
        'PrometheusRule/soccer-service: no alert on media volume usage',
        expect.stringMatching(/^PrometheusRule\/gateway GatewayBackendDown: expression does not parse/),
      ]),
    );
  }, 60_000); // prettier-ignore
});

/** The TypeScript sources of the apps and libs, concatenated (where metric names are made). */
async function appSources(): Promise<string> {
  const files: string[] = [];
  for (const top of ['apps', 'libs']) {
    for (const entry of await readdir(join(ROOT, top), { recursive: true })) {
      if (entry.endsWith('.ts') && !entry.endsWith('.spec.ts') && !entry.includes('/test/')) {
        files.push(await readFile(join(ROOT, top, entry), 'utf8'));
      }
    }
  }
  return files.join('\n');
}
