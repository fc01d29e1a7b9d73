/**
 * The Kubernetes manifests' checks, offline: `kubectl kustomize` builds an
 * overlay, each object is validated against the Kubernetes OpenAPI schema
 * (kubernetes-models), fields the schema does not know are reported (the
 * models ignore them, the API server would reject or drop them), and the
 * project's rules are held to.
 */
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { runTool } from './tools.js';
import { isPinnedImage } from './dockerfile.js';

/** A Kubernetes object, as far as the checks read it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
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

const id = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;

/** The kubernetes-models classes of each apiVersion the manifests may use. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'autoscaling/v2': autoscaling,
  'batch/v1': batch,
  'networking.k8s.io/v1': networking,
  'policy/v1': policy,
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

interface Workload extends KubeObject {
  spec: {
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
  /** The health check script's argv before its arguments (the Dockerfile's HEALTHCHECK). */
  healthcheckCommand: readonly string[];
  /** The apps' shutdown grace when SHUTDOWN_GRACE_MS is unset, and what closing may add. */
  defaultShutdownGraceMs: number;
  closeAfterGraceSeconds: number;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

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

/** Every project rule the rendered `objects` break (none: they pass). */
export function checkProjectRules(objects: KubeObject[], rules: KubeRules): string[] {
  const problems: string[] = [];
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
        const command = probe.exec?.command;
        const app = appOf(workload);
        if (command?.[0] === 'node') {
          const expected = [...rules.healthcheckCommand, app];
          if (command.slice(0, expected.length).join(' ') !== expected.join(' ')) {
            problems.push(
              `${at}: ${kind} runs ${command.join(' ')}, not the image's health check (${expected.join(' ')})`,
            );
          }
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
    const denyAll = policies.some((p) => {
      const spec = p.spec as {
        podSelector?: { matchLabels?: object };
        policyTypes?: string[];
        ingress?: unknown[];
      };
      return (
        Object.keys(spec.podSelector?.matchLabels ?? {}).length === 0 &&
        spec.policyTypes?.includes('Ingress') &&
        !spec.ingress?.length
      );
    });
    if (!denyAll) problems.push(`${app}: no default-deny ingress NetworkPolicy`);
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
  for (const variable of ['CHEESE_GRPC_URL', 'SOCCER_GRPC_URL']) {
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
    } else if (!find('Service', match[1])) {
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
