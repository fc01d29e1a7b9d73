/**
 * The Kubernetes manifests' checks, offline: `kubectl kustomize` builds an
 * overlay, each object is validated against the Kubernetes OpenAPI schema
 * (kubernetes-models; PodMonitor and PrometheusRule against the Prometheus
 * Operator's CRD schemas, @kubernetes-models/prometheus-operator), fields the
 * schema does not know are reported (the models ignore them, the API server
 * would reject or drop them), and the project's rules are held to.
 */
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { parseAllDocuments } from 'yaml';
import { runTool } from './tools.js';
import { isPinnedImage } from './dockerfile.js';

/** A Kubernetes object, as far as the checks read it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

type Json = Record<string, unknown>;

/** `kubectl kustomize <dir>`: the objects it renders, or what kustomize said. */
export async function kustomize(
  dir: string,
): Promise<{ problems: string[]; objects: KubeObject[] }> {
  const result = await runTool('kubectl', ['kustomize', dir]);
  if (result.code !== 0) {
    return { problems: [`kubectl kustomize ${dir}: ${result.stderr.trim()}`], objects: [] };
  }
  const objects = parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
  return { problems: [], objects };
}

/** The kubectl client's kustomize version, e.g. v5.5.0. */
export async function kustomizeVersion(): Promise<string> {
  const { stdout } = await runTool('kubectl', ['version', '--client', '-o', 'json']);
  return (JSON.parse(stdout) as { kustomizeVersion?: string }).kustomizeVersion ?? 'unknown';
}

export const id = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;

/** The kubernetes-models classes of each apiVersion the manifests may use. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'autoscaling/v2': autoscaling,
  'batch/v1': batch,
  'networking.k8s.io/v1': networking,
  'policy/v1': policy,
  // The Prometheus Operator's CRDs, validated against their own schemas.
  'monitoring.coreos.com/v1': monitoring,
};

type ModelClass = { prototype: { validate(this: unknown): void } };

interface Tracked {
  path: string;
  keys: string[];
  read: Set<string>;
  inspected: boolean;
}

/**
 * A deep copy of `value` whose objects record which of their keys are read.
 * The schema validators read every property the schema defines (and iterate
 * the keys of maps), so a key never read is a field the schema does not have.
 * An object the validator never looked into is free-form (or under an
 * unknown key, reported already).
 */
function tracked(value: unknown, path: string, all: Tracked[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => tracked(v, `${path}[${i}]`, all));
  if (value === null || typeof value !== 'object') return value;
  const record: Tracked = { path, keys: Object.keys(value), read: new Set(), inspected: false };
  all.push(record);
  const copy = Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, tracked(v, path ? `${path}.${k}` : k, all)]),
  );
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') {
        record.inspected = true;
        record.read.add(key);
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
    ownKeys(target) {
      record.inspected = true;
      record.keys.forEach((k) => record.read.add(k));
      return Reflect.ownKeys(target);
    },
  });
}

/** Schema errors and unknown fields of each object. */
export function validateObjects(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const Model = MODELS[object.apiVersion]?.[object.kind] as ModelClass | undefined;
    if (!Model) {
      problems.push(`${id(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    const records: Tracked[] = [];
    const proxy = tracked(object, '', records);
    try {
      // The model's validate() runs the schema's validator on `this`.
      Model.prototype.validate.call(proxy);
    } catch (err) {
      problems.push(`${id(object)}: schema: ${(err as Error).message}`);
      continue; // a failed validation stops reading early: unknown fields would be guesses
    }
    for (const record of records) {
      if (!record.inspected) continue;
      for (const key of record.keys.filter((k) => !record.read.has(k))) {
        problems.push(`${id(object)}: unknown field ${record.path ? `${record.path}.` : ''}${key}`);
      }
    }
  }
  return problems;
}

// ---- project rules --------------------------------------------------------------

interface Probe {
  exec?: { command?: string[] };
  grpc?: { port: number; service?: string };
  httpGet?: { path?: string; port: number | string };
  periodSeconds?: number;
  tcpSocket?: { port: number | string };
  timeoutSeconds?: number;
}

interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: Json }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: Json & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  topologySpreadConstraints?: {
    topologyKey: string;
    labelSelector?: { matchLabels?: Record<string, string> };
  }[];
  affinity?: {
    podAntiAffinity?: Record<
      string,
      { topologyKey?: string; podAffinityTerm?: { topologyKey?: string } }[] | undefined
    >;
  };
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Json;
  terminationGracePeriodSeconds?: number;
  volumes?: {
    name: string;
    secret?: { secretName: string };
    persistentVolumeClaim?: { claimName: string };
  }[];
}

export interface Workload extends KubeObject {
  spec: {
    strategy?: { type?: string };
    selector?: { matchLabels?: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}

export interface KubeRules {
  /** The gRPC services: headless Service, gRPC port reached from the gateway only. */
  grpcApps: readonly string[];
  /** Every app: a Deployment, HPA and PDB of that name. */
  apps: readonly string[];
  /** The pod label naming the app (selectors, NetworkPolicy). */
  appLabel: string;
  /** The gateway's GATEWAY_IDLE_TIMEOUT_MS when its ConfigMap does not set it. */
  gatewayIdleTimeoutDefaultMs: number;
  /** Gateway paths for the cluster only: never routed by an Ingress. */
  internalPaths: readonly string[];
  /** The apps' shutdown grace when SHUTDOWN_GRACE_MS is unset, and what closing may add. */
  defaultShutdownGraceMs: number;
  closeAfterGraceSeconds: number;
}

export const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

const HANDLERS = ['exec', 'grpc', 'httpGet', 'tcpSocket'] as const;

/** A container's environment as its ConfigMaps and its own `env` set it (plain values only). */
function containerEnv(container: Container, configMaps: Map<string, KubeObject>) {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const map = source.configMapRef && configMaps.get(source.configMapRef.name);
    Object.assign(env, (map?.data as Record<string, string> | undefined) ?? {});
  }
  for (const { name, value } of container.env ?? []) if (value !== undefined) env[name] = value;
  return env;
}

function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) {
  return (
    !!selector &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels?.[k] === v)
  );
}

/**
 * Every project rule the rendered `objects` break (none: they pass). `objects` may be
 * one service's kustomization: the rules of the apps it holds are checked, and what it
 * refers to outside itself (the Services it dials) is looked up in `environment`, the
 * whole stack it is deployed with.
 */
export function checkProjectRules(
  objects: KubeObject[],
  allRules: KubeRules,
  environment: KubeObject[] = objects,
): string[] {
  const problems: string[] = [];
  const present = (app: string) =>
    objects.some((o) => o.kind === 'Deployment' && o.metadata.name === app);
  const rules: KubeRules = {
    ...allRules,
    apps: allRules.apps.filter(present),
    grpcApps: allRules.grpcApps.filter(present),
  };
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, c]));
  const workloads = objects.filter((o) => WORKLOADS.has(o.kind)) as Workload[];
  const appOf = (w: Workload) =>
    w.spec.template.metadata?.labels?.[rules.appLabel] ?? w.metadata.name;

  for (const workload of workloads) {
    const pod = workload.spec.template.spec;
    const where = id(workload);
    const podSecurity = pod.securityContext ?? {};
    const grace = pod.terminationGracePeriodSeconds ?? 30;

    for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
      const at = `${where} container ${container.name}`;
      const security = { ...podSecurity, ...(container.securityContext ?? {}) } as Json;
      if (security.runAsNonRoot !== true) problems.push(`${at}: runAsNonRoot is not true`);
      if (security.runAsUser === 0) problems.push(`${at}: runAsUser 0`);
      if (container.securityContext?.readOnlyRootFilesystem !== true) {
        problems.push(`${at}: readOnlyRootFilesystem is not true`);
      }
      if (container.securityContext?.allowPrivilegeEscalation !== false) {
        problems.push(`${at}: allowPrivilegeEscalation is not false`);
      }
      if (container.securityContext?.privileged) problems.push(`${at}: privileged`);
      if (!container.securityContext?.capabilities?.drop?.includes('ALL')) {
        problems.push(`${at}: capabilities do not drop ALL`);
      }
      const seccomp = (security.seccompProfile as { type?: string } | undefined)?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
        problems.push(`${at}: no seccompProfile RuntimeDefault`);
      }
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (container.resources?.[kind]?.[resource] === undefined) {
            problems.push(`${at}: no ${resource} ${kind}`);
          }
        }
      }
      if (!container.image || !isPinnedImage(container.image)) {
        problems.push(`${at}: image ${container.image ?? '(none)'} is not pinned to a version`);
      }

      const probes = {
        readinessProbe: container.readinessProbe,
        livenessProbe: container.livenessProbe,
        startupProbe: container.startupProbe,
      };
      for (const [kind, probe] of Object.entries(probes)) {
        if (!probe) {
          if (kind !== 'startupProbe') problems.push(`${at}: no ${kind}`);
          continue;
        }
        const handlers = HANDLERS.filter((h) => probe[h] !== undefined);
        if (handlers.length !== 1) {
          problems.push(
            `${at}: ${kind} has ${handlers.length} handlers (${handlers.join(', ')}); exactly one`,
          );
        }
        const ports = container.ports ?? [];
        const port = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
        if (port !== undefined && !ports.some((p) => p.containerPort === port || p.name === port)) {
          problems.push(`${at}: ${kind} port ${port} is none of the container's ports`);
        }
        // Finding 7: an exec probe running node costs a process (0.1-0.2 s of CPU) per probe.
        const command = probe.exec?.command;
        if (command?.some((arg) => /(^|\/)node$/.test(arg))) {
          problems.push(
            `${at}: ${kind} starts a Node process on every probe (${command.join(' ')}): probe over HTTP instead`,
          );
        }
      }
      // Finding 2: starting and staying alive must not hang on a dependency's check (a
      // volume, a backend): a restart mends neither. Readiness is where checks belong.
      for (const kind of ['startupProbe', 'livenessProbe'] as const) {
        const probe = container[kind];
        if (!probe) continue;
        const readiness = container.readinessProbe;
        const sameAsReadiness =
          readiness !== undefined &&
          HANDLERS.some(
            (h) =>
              probe[h] !== undefined && JSON.stringify(probe[h]) === JSON.stringify(readiness[h]),
          );
        if (probe.grpc) {
          problems.push(
            `${at}: ${kind} is gRPC health ('${probe.grpc.service ?? ''}'), which includes the service's checks (the media volume): probe /healthz instead`,
          );
        } else if (probe.httpGet?.path?.startsWith('/readyz') || sameAsReadiness) {
          problems.push(
            `${at}: ${kind} is the readiness check, which includes the service's checks`,
          );
        }
      }

      // The kubelet's gRPC probe speaks plaintext only: on a TLS server it always fails.
      const env = containerEnv(container, configMaps);
      if (env.GRPC_TLS_CERT) {
        for (const [kind, probe] of Object.entries(probes)) {
          if (probe?.grpc) {
            problems.push(
              `${at}: ${kind} is a gRPC probe, which speaks plaintext, on a TLS server (GRPC_TLS_CERT)`,
            );
          }
        }
      }

      if (rules.apps.includes(appOf(workload))) {
        const graceMs = Number(env.SHUTDOWN_GRACE_MS ?? rules.defaultShutdownGraceMs);
        const needed = Math.ceil(graceMs / 1000) + rules.closeAfterGraceSeconds;
        if (grace < needed || grace > needed + 30) {
          problems.push(
            `${where}: terminationGracePeriodSeconds ${grace} does not match SHUTDOWN_GRACE_MS=${graceMs} ` +
              `(${needed}–${needed + 30} s: the grace, plus ${rules.closeAfterGraceSeconds} s the app may take to close)`,
          );
        }
        for (const ref of container.envFrom ?? []) {
          if (ref.configMapRef && !configMaps.has(ref.configMapRef.name)) {
            problems.push(
              `${at}: envFrom ConfigMap ${ref.configMapRef.name} is not in the manifests`,
            );
          }
        }
      }
    }
  }

  // Every app: Deployment, HorizontalPodAutoscaler on it, PodDisruptionBudget over its pods.
  for (const app of rules.apps) {
    const deployment = find('Deployment', app) as Workload | undefined;
    if (!deployment) {
      problems.push(`${app}: no Deployment`);
      continue;
    }
    const podLabels = deployment.spec.template.metadata?.labels;
    const hpa = byKind('HorizontalPodAutoscaler').find((h) => {
      const ref = (h.spec as { scaleTargetRef?: { kind: string; name: string } }).scaleTargetRef;
      return ref?.kind === 'Deployment' && ref.name === app;
    });
    if (!hpa) problems.push(`${app}: no HorizontalPodAutoscaler`);
    const pdb = byKind('PodDisruptionBudget').find((p) =>
      selects(
        (p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels,
        podLabels,
      ),
    );
    if (!pdb) problems.push(`${app}: no PodDisruptionBudget`);
  }

  // gRPC apps: a headless Service; only the gateway reaches the gRPC port.
  for (const app of rules.grpcApps) {
    const deployment = find('Deployment', app) as Workload | undefined;
    const podLabels = deployment?.spec.template.metadata?.labels;
    const grpcPort = deployment?.spec.template.spec.containers[0].ports?.find(
      (p) => p.name === 'grpc',
    )?.containerPort;
    const services = byKind('Service').filter((s) =>
      selects((s.spec as { selector?: Record<string, string> }).selector, podLabels),
    );
    if (services.length === 0) problems.push(`${app}: no Service selects its pods`);

    const policies = byKind('NetworkPolicy').filter((p) => {
      const selector = (p.spec as { podSelector?: { matchLabels?: Record<string, string> } })
        .podSelector?.matchLabels;
      return (
        selector === undefined || Object.keys(selector).length === 0 || selects(selector, podLabels)
      );
    });
    // Isolated for ingress: only what a policy allows gets in.
    if (!policies.some((p) => (p.spec as PolicySpec).policyTypes?.includes('Ingress'))) {
      problems.push(`${app}: no NetworkPolicy isolates its pods for ingress`);
    }
    let gatewayAllowed = false;
    for (const policy of policies) {
      const ingress =
        (policy.spec as { ingress?: { from?: Json[]; ports?: { port?: number | string }[] }[] })
          .ingress ?? [];
      for (const rule of ingress) {
        const coversGrpc =
          !rule.ports?.length || rule.ports.some((p) => p.port === grpcPort || p.port === 'grpc');
        if (!coversGrpc) continue;
        const fromGatewayOnly =
          !!rule.from?.length &&
          rule.from.every((peer) => {
            const labels = (
              peer.podSelector as { matchLabels?: Record<string, string> } | undefined
            )?.matchLabels;
            return (
              peer.namespaceSelector === undefined &&
              peer.ipBlock === undefined &&
              labels?.[rules.appLabel] === 'gateway'
            );
          });
        if (fromGatewayOnly) gatewayAllowed = true;
        else
          problems.push(
            `NetworkPolicy/${policy.metadata.name}: lets more than the gateway reach ${app}'s gRPC port`,
          );
      }
    }
    if (!gatewayAllowed)
      problems.push(`${app}: no NetworkPolicy lets the gateway reach its gRPC port`);
  }

  // Every Service of a gRPC port is headless: round robin happens in the client.
  for (const service of byKind('Service')) {
    const spec = service.spec as {
      clusterIP?: string;
      ports?: { name?: string; targetPort?: string | number }[];
    };
    const grpc = spec.ports?.some((p) => p.name === 'grpc' || p.targetPort === 'grpc');
    if (grpc && spec.clusterIP !== 'None') {
      problems.push(
        `${id(service)}: a gRPC Service must be headless (clusterIP: None), or one pod takes all of a client's calls`,
      );
    }
  }

  // The gateway's backends are headless Services of this namespace, dialled as dns:///.
  const gateway = find('Deployment', 'gateway') as Workload | undefined;
  for (const variable of gateway ? ['CHEESE_GRPC_URL', 'SOCCER_GRPC_URL'] : []) {
    const value = gateway?.spec.template.spec.containers[0].env?.find(
      (e) => e.name === variable,
    )?.value;
    const match =
      value &&
      /^dns:\/\/\/([a-z0-9-]+)\.(\$\(POD_NAMESPACE\)|[a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(
        value,
      );
    if (!match) {
      problems.push(
        `gateway: ${variable}=${value ?? '(unset)'} is not dns:///<service>.<namespace>.svc.cluster.local:<port>`,
      );
    } else if (!environment.some((o) => o.kind === 'Service' && o.metadata.name === match[1])) {
      problems.push(
        `gateway: ${variable} names Service ${match[1]}, which is not in the manifests`,
      );
    } else if (match[2] !== '$(POD_NAMESPACE)' && match[2] !== gateway?.metadata.namespace) {
      problems.push(
        `gateway: ${variable} is in namespace ${match[2]}, the gateway in ${gateway?.metadata.namespace}`,
      );
    }
  }

  // Ingress backends exist.
  for (const ingress of byKind('Ingress')) {
    const rulesList =
      (
        ingress.spec as {
          rules?: { http?: { paths?: { backend?: { service?: { name: string } } }[] } }[];
        }
      ).rules ?? [];
    for (const path of rulesList.flatMap((r) => r.http?.paths ?? [])) {
      const name = path.backend?.service?.name;
      if (name && !find('Service', name))
        problems.push(`${id(ingress)}: backend Service ${name} is not in the manifests`);
    }
  }

  const context: RuleContext = { objects, environment, workloads, configMaps, rules, appOf };
  problems.push(
    ...checkStorage(context),
    ...checkIngresses(context),
    ...checkPods(context),
    ...checkDisruptionBudgets(context),
    ...checkEgress(context),
    ...checkClientCertificate(context),
    ...checkAcmeSolver(context),
  );
  return problems;
}

// ---- the rules of issue 17 (docs/deploy.md "Findings"), one function per finding -------

interface RuleContext {
  objects: KubeObject[];
  /** The whole stack `objects` is deployed with (the Services another app dials). */
  environment: KubeObject[];
  workloads: Workload[];
  configMaps: Map<string, KubeObject>;
  rules: KubeRules;
  appOf: (workload: Workload) => string;
}

export type LabelSelector = { matchLabels?: Record<string, string> };

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}

interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { protocol?: string; port?: number | string }[];
}

interface PolicySpec {
  podSelector?: LabelSelector;
  policyTypes?: string[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

export const podLabelsOf = (w: Workload) => w.spec.template.metadata?.labels ?? {};

/** Whether `selector` selects `labels` (an empty selector selects everything). */
export function matches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** The NetworkPolicies whose podSelector selects `labels`. */
export function policiesOf(objects: KubeObject[], labels: Record<string, string>) {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((o) => ({ name: o.metadata.name, spec: o.spec as PolicySpec }))
    .filter(({ spec }) => matches(spec.podSelector, labels));
}

/** The namespace a peer names by `kubernetes.io/metadata.name`, if it names one. */
export const peerNamespace = (peer: PolicyPeer) =>
  peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];

/** Whether `rule` covers TCP/UDP `port`. */
export function coversPort(rule: PolicyRule, port: number, protocol = 'TCP'): boolean {
  return (
    !rule.ports?.length ||
    rule.ports.some(
      (p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port),
    )
  );
}

/**
 * Finding 1: the media claim. An explicit storage class (the cluster's default rarely
 * offers ReadWriteMany: the claim stays Pending); a ReadWriteOnce claim only under one
 * replica replaced with Recreate; the pod's fsGroup is the app's group.
 */
function checkStorage({ objects, workloads }: RuleContext): string[] {
  const problems: string[] = [];
  const claims = objects.filter((o) => o.kind === 'PersistentVolumeClaim');
  for (const claim of claims) {
    const spec = claim.spec as { storageClassName?: string; accessModes?: string[] };
    if (!spec.storageClassName) {
      problems.push(`${id(claim)}: no storageClassName (the default class may not offer ${spec.accessModes?.join(', ')})`); // prettier-ignore
    }
    if (!spec.accessModes?.includes('ReadWriteOnce')) continue;
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      if (!pod.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name)) continue; // prettier-ignore
      const hpa = objects.find(
        (o) =>
          o.kind === 'HorizontalPodAutoscaler' &&
          (o.spec as { scaleTargetRef?: { name: string } }).scaleTargetRef?.name ===
            workload.metadata.name,
      );
      const maxReplicas = (hpa?.spec as { maxReplicas?: number } | undefined)?.maxReplicas ?? 1;
      if (maxReplicas > 1 || workload.spec.strategy?.type !== 'Recreate') {
        problems.push(
          `${id(workload)}: mounts ReadWriteOnce ${id(claim)} with up to ${maxReplicas} replicas, strategy ${workload.spec.strategy?.type ?? 'RollingUpdate'}: a second pod on another node cannot mount it`,
        );
      }
    }
  }
  for (const workload of workloads) {
    const pod = workload.spec.template.spec;
    if (!pod.volumes?.some((v) => v.persistentVolumeClaim)) continue;
    const security = (pod.securityContext ?? {}) as { fsGroup?: number; runAsGroup?: number };
    if (security.fsGroup === undefined || security.fsGroup !== security.runAsGroup) {
      problems.push(`${id(workload)}: mounts a claim without fsGroup = runAsGroup (the app's group must own the volume)`); // prettier-ignore
    }
  }
  return problems;
}

/**
 * Finding 8: an Ingress routes no internal path (metrics, probes with backend error
 * text, API docs). Finding 5: the gateway's idle timeout exceeds the controller's
 * upstream keep-alive, which the Ingress states in KEEPALIVE_ANNOTATION.
 */
export const KEEPALIVE_ANNOTATION = 'cheese-farm-soccer/upstream-keepalive-timeout-seconds';

function checkIngresses({ objects, workloads, configMaps, rules }: RuleContext): string[] {
  const problems: string[] = [];
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    const spec = ingress.spec as {
      rules?: { http?: { paths?: { path?: string; pathType?: string }[] } }[];
    };
    for (const { path = '/', pathType } of spec.rules?.flatMap((r) => r.http?.paths ?? []) ?? []) {
      for (const internal of rules.internalPaths) {
        if (ingressPathMatches(path, pathType, internal)) {
          problems.push(`${id(ingress)}: path ${path} (${pathType}) exposes ${internal}`);
        }
      }
    }
    const annotations = (ingress.metadata as { annotations?: Record<string, string> }).annotations;
    const keepAlive = Number(annotations?.[KEEPALIVE_ANNOTATION]);
    const gateway = workloads.find((w) => w.metadata.name === 'gateway');
    if (!(keepAlive > 0)) {
      problems.push(`${id(ingress)}: no ${KEEPALIVE_ANNOTATION} (the controller's upstream keep-alive, in seconds)`); // prettier-ignore
    } else if (gateway) {
      const env = containerEnv(gateway.spec.template.spec.containers[0], configMaps);
      const idleMs = Number(env.GATEWAY_IDLE_TIMEOUT_MS ?? rules.gatewayIdleTimeoutDefaultMs);
      if (!(idleMs > keepAlive * 1000)) {
        problems.push(
          `gateway: GATEWAY_IDLE_TIMEOUT_MS=${idleMs} is not above ${id(ingress)}'s upstream keep-alive (${keepAlive} s): the proxy reuses connections the gateway closed (502s)`,
        );
      }
    }
  }
  return problems;
}

/** Whether an Ingress path routes `target` (Exact, Prefix by path elements; others as prefix). */
export function ingressPathMatches(path: string, pathType: string | undefined, target: string) {
  if (pathType === 'Exact') return path === target;
  if (pathType === 'Prefix') {
    const prefix = path.replace(/\/+$/, '');
    return prefix === '' || target === prefix || target.startsWith(`${prefix}/`);
  }
  return target.startsWith(path); // ImplementationSpecific: ingress-nginx treats it as a prefix
}

/**
 * Finding 9: each app has its own ServiceAccount, without a token, and spreads its
 * replicas over nodes (a topology spread or an anti-affinity on the host name).
 */
function checkPods({ objects, workloads, rules, appOf }: RuleContext): string[] {
  const problems: string[] = [];
  for (const workload of workloads) {
    const pod = workload.spec.template.spec;
    const name = pod.serviceAccountName;
    const account = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === name);
    if (!name || name === 'default') {
      problems.push(`${id(workload)}: runs as the default ServiceAccount`);
    } else if (!account) {
      problems.push(`${id(workload)}: ServiceAccount ${name} is not in the manifests`);
    } else if (
      pod.automountServiceAccountToken !== false &&
      (account as { automountServiceAccountToken?: boolean }).automountServiceAccountToken !== false
    ) {
      problems.push(`${id(workload)}: mounts a ServiceAccount token`);
    }
    if (!rules.apps.includes(appOf(workload))) continue;
    const labels = podLabelsOf(workload);
    const spread = pod.topologySpreadConstraints?.some(
      (c) => c.topologyKey === 'kubernetes.io/hostname' && matches(c.labelSelector, labels) && !!c.labelSelector, // prettier-ignore
    );
    const antiAffinity = Object.values(pod.affinity?.podAntiAffinity ?? {}).some((terms) =>
      terms?.some(
        (t) => (t.topologyKey ?? t.podAffinityTerm?.topologyKey) === 'kubernetes.io/hostname',
      ),
    );
    if (!spread && !antiAffinity) {
      problems.push(
        `${id(workload)}: no topology spread or anti-affinity over kubernetes.io/hostname`,
      );
    }
  }
  return problems;
}

/** Finding 4: unready pods never block a node drain. */
function checkDisruptionBudgets({ objects }: RuleContext): string[] {
  return objects
    .filter((o) => o.kind === 'PodDisruptionBudget')
    .filter((o) => (o.spec as { unhealthyPodEvictionPolicy?: string }).unhealthyPodEvictionPolicy !== 'AlwaysAllow') // prettier-ignore
    .map((o) => `${id(o)}: unready pods cannot be evicted (unhealthyPodEvictionPolicy is not AlwaysAllow): a drain waits on them`); // prettier-ignore
}

/**
 * Finding 9: every pod's egress is limited, and what each app dials is let out: DNS,
 * the gateway's backends, soccer-service's Redis, the trace collector.
 */
function checkEgress({ objects, environment, workloads, configMaps }: RuleContext): string[] {
  const problems: string[] = [];
  const serviceTarget = (name: string) => {
    const service = environment.find((o) => o.kind === 'Service' && o.metadata.name === name);
    return (service?.spec as { selector?: Record<string, string> } | undefined)?.selector;
  };
  for (const workload of workloads) {
    const labels = podLabelsOf(workload);
    const policies = policiesOf(objects, labels).filter(({ spec }) => spec.policyTypes?.includes('Egress')); // prettier-ignore
    if (policies.length === 0) {
      problems.push(`${id(workload)}: no egress NetworkPolicy: its pods may connect anywhere`);
      continue;
    }
    const egress = policies.flatMap(({ spec }) => spec.egress ?? []);
    const allows = (to: (peer: PolicyPeer) => boolean, port: number, protocol = 'TCP') =>
      egress.some(
        (rule) => coversPort(rule, port, protocol) && (!rule.to?.length || rule.to.some(to)),
      );
    const env = containerEnv(workload.spec.template.spec.containers[0], configMaps);
    const dials: { what: string; to: (peer: PolicyPeer) => boolean; port: number }[] = [];
    for (const [variable, value] of Object.entries(env)) {
      // In-namespace Services: dns:///name.ns.svc…:port, redis://name:port.
      const local = /^(?:dns:\/\/\/|redis:\/\/)([a-z0-9-]+)(?:\.[^:/]*)?:(\d+)/.exec(value);
      if (local && /_(GRPC_URL|REDIS_URL)$|^REDIS_URL$/.test(variable)) {
        const selector = serviceTarget(local[1]);
        dials.push({
          what: `${variable} (Service ${local[1]})`,
          port: Number(local[2]),
          to: (peer) => !peer.namespaceSelector && !!selector && matches(peer.podSelector, selector) && !!peer.podSelector, // prettier-ignore
        });
      }
    }
    const otlp = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    if (otlp) {
      const url = new URL(otlp);
      const namespace = /^[^.]+\.([^.]+)\.svc/.exec(url.hostname)?.[1];
      dials.push({
        what: `OTEL_EXPORTER_OTLP_ENDPOINT (${url.host})`,
        port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        to: (peer) => namespace !== undefined && peerNamespace(peer) === namespace,
      });
    }
    for (const dial of dials) {
      if (!allows(dial.to, dial.port)) {
        problems.push(`${id(workload)}: no egress rule lets it reach ${dial.what} on port ${dial.port}`); // prettier-ignore
      }
    }
    if (dials.length > 0 && !allows(() => true, 53, 'UDP')) {
      problems.push(`${id(workload)}: no egress rule lets it resolve names (DNS, UDP 53)`);
    }
  }
  return problems;
}

/**
 * Finding 9: the gateway's client certificate is the gateway's alone. A service holding
 * it (for its probes) could call the other service as the gateway.
 */
function checkClientCertificate({ workloads, configMaps }: RuleContext): string[] {
  const problems: string[] = [];
  const holders = workloads.filter((w) =>
    w.spec.template.spec.containers.some((c) => containerEnv(c, configMaps).GRPC_TLS_CLIENT_CERT),
  );
  for (const workload of holders.filter((w) => w.metadata.name !== 'gateway')) {
    problems.push(`${id(workload)}: holds a gRPC client certificate (GRPC_TLS_CLIENT_CERT): only the gateway may`); // prettier-ignore
  }
  // The Secret mounted where the gateway's GRPC_TLS_CLIENT_CERT lives.
  const secrets = new Set<string>();
  for (const workload of holders.filter((w) => w.metadata.name === 'gateway')) {
    const pod = workload.spec.template.spec;
    for (const container of pod.containers) {
      const path = containerEnv(container, configMaps).GRPC_TLS_CLIENT_CERT;
      const mount = container.volumeMounts?.find((m) => path?.startsWith(`${m.mountPath}/`));
      const secret = pod.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName;
      if (secret) secrets.add(secret);
    }
  }
  for (const workload of workloads.filter((w) => w.metadata.name !== 'gateway')) {
    for (const volume of workload.spec.template.spec.volumes ?? []) {
      if (volume.secret && secrets.has(volume.secret.secretName)) {
        problems.push(`${id(workload)}: mounts Secret ${volume.secret.secretName}, the gateway's client certificate`); // prettier-ignore
      }
    }
  }
  return problems;
}

/**
 * Finding 3: an Ingress whose certificate cert-manager gets over HTTP-01 needs its solver
 * pod (port 8089, in this namespace) reachable from the Ingress controller's namespace,
 * the one the gateway is reached from.
 */
function checkAcmeSolver({ objects, workloads }: RuleContext): string[] {
  const problems: string[] = [];
  const acme = objects.filter((o) => {
    const annotations = (o.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    return o.kind === 'Ingress' && Object.keys(annotations).some((k) => /^cert-manager\.io\/(cluster-)?issuer$/.test(k)); // prettier-ignore
  });
  if (acme.length === 0) return problems;
  const solver = { 'acme.cert-manager.io/http01-solver': 'true' };
  const solverRules = policiesOf(objects, solver)
    .filter(({ spec }) => Object.keys(spec.podSelector?.matchLabels ?? {}).length > 0)
    .flatMap(({ spec }) => spec.ingress ?? [])
    .filter((rule) => coversPort(rule, 8089));
  if (solverRules.length === 0) {
    problems.push(`${acme.map(id).join(', ')}: no NetworkPolicy lets the cert-manager HTTP-01 solver (port 8089) be reached`); // prettier-ignore
    return problems;
  }
  const solverFrom = new Set(solverRules.flatMap((r) => r.from ?? []).map(peerNamespace));
  const gateway = workloads.find((w) => w.metadata.name === 'gateway');
  const gatewayFrom = gateway
    ? policiesOf(objects, podLabelsOf(gateway)).flatMap(({ spec }) => spec.ingress ?? []).flatMap((r) => r.from ?? []).map(peerNamespace) // prettier-ignore
    : [];
  const controller = gatewayFrom.filter((ns) => ns !== undefined && ns !== 'monitoring');
  for (const ns of controller) {
    if (!solverFrom.has(ns)) problems.push(`NetworkPolicy: the ACME solver is not reachable from ${ns}, where the gateway is reached from`); // prettier-ignore
  }
  return problems;
}

/** The Secrets the workloads need (made outside the manifests), and whether each is optional. */
export function referencedSecrets(objects: KubeObject[]): Map<string, { optional: boolean }> {
  const secrets = new Map<string, { optional: boolean }>();
  const add = (name: string, optional: boolean) =>
    secrets.set(name, { optional: (secrets.get(name)?.optional ?? true) && optional });
  const generated = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
  for (const workload of objects.filter((o) => WORKLOADS.has(o.kind)) as Workload[]) {
    const pod = workload.spec.template.spec;
    for (const volume of pod.volumes ?? []) {
      if (volume.secret) add(volume.secret.secretName, false);
    }
    for (const container of pod.containers) {
      for (const { valueFrom } of container.env ?? []) {
        const ref = valueFrom?.secretKeyRef as { name: string; optional?: boolean } | undefined;
        if (ref) add(ref.name, ref.optional === true);
      }
      for (const { secretRef } of container.envFrom ?? []) {
        if (secretRef) add(secretRef.name, (secretRef as { optional?: boolean }).optional === true);
      }
    }
  }
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    for (const tls of (ingress.spec as { tls?: { secretName?: string }[] }).tls ?? []) {
      if (tls.secretName) add(tls.secretName, false);
    }
  }
  for (const name of generated) secrets.delete(name);
  return secrets;
}
