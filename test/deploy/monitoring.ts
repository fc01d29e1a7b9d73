/**
 * The checks of the Prometheus Operator objects (PodMonitor, PrometheusRule)
 * beside the schema check of kubernetes.ts: what each app's monitoring must
 * cover, and alert expressions that parse as PromQL.
 */
import { parser as promql } from '@prometheus-io/lezer-promql';
import {
  coversPort,
  id,
  matches,
  peerNamespace,
  podLabelsOf,
  policiesOf,
  WORKLOADS,
  type KubeObject,
  type LabelSelector,
  type Workload,
} from './kubernetes.js';

/** Whether `expr` parses as PromQL (the grammar Prometheus's own editor uses). */
export function promqlErrors(expr: string): boolean {
  let error = false;
  promql.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) error = true;
    },
  });
  return error;
}

/** The metric names an expression selects. */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  promql.parse(expr).iterate({
    enter: (node) => {
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        names.push(expr.slice(node.from, node.to));
      }
    },
  });
  return names;
}

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every alert of the PrometheusRules in `objects`, by the rule object's name. */
export function alertRules(objects: KubeObject[]): Map<string, AlertRule[]> {
  return new Map(
    objects
      .filter((o) => o.kind === 'PrometheusRule')
      .map((o) => [
        o.metadata.name,
        ((o.spec as { groups?: { rules?: AlertRule[] }[] }).groups ?? []).flatMap((g) => g.rules ?? []), // prettier-ignore
      ]),
  );
}

export interface MonitoringRules {
  /** The namespace Prometheus scrapes from (NetworkPolicy must let it in). */
  monitoringNamespace: string;
  /** Per app: what its alerts must watch, as patterns one alert's expression matches each. */
  alerts: Readonly<Record<string, Readonly<Record<string, RegExp>>>>;
}

/**
 * The monitoring of each app in `objects`: a PodMonitor that selects the app's pods on
 * one of their ports, which the app's NetworkPolicy opens to Prometheus's namespace; a
 * PrometheusRule whose every expression parses, every alert has a severity and a
 * summary, and which covers what `rules.alerts` asks of the app.
 */
export function checkMonitoring(objects: KubeObject[], rules: MonitoringRules): string[] {
  const problems: string[] = [];
  const workloads = objects.filter((o) => WORKLOADS.has(o.kind)) as Workload[];
  const monitors = objects.filter((o) => o.kind === 'PodMonitor');
  const alerts = alertRules(objects);
  for (const app of Object.keys(rules.alerts)) {
    const workload = workloads.find((w) => w.metadata.name === app);
    if (!workload) continue; // not in this render
    const labels = podLabelsOf(workload);
    const monitor = monitors.find((m) =>
      matches((m.spec as { selector?: LabelSelector }).selector, labels),
    );
    if (!monitor) {
      problems.push(`${app}: no PodMonitor selects its pods`);
    } else {
      const container = workload.spec.template.spec.containers[0];
      const endpoints = (monitor.spec as { podMetricsEndpoints?: { port?: string }[] }).podMetricsEndpoints ?? []; // prettier-ignore
      for (const { port } of endpoints) {
        const declared = container.ports?.find((p) => p.name === port);
        if (!declared) {
          problems.push(`${id(monitor)}: port ${port} is none of ${app}'s named ports`);
          continue;
        }
        const open = policiesOf(objects, labels)
          .flatMap(({ spec }) => spec.ingress ?? [])
          .some(
            (rule) =>
              coversPort(rule, declared.containerPort) &&
              (!rule.from?.length || rule.from.some((p) => peerNamespace(p) === rules.monitoringNamespace)), // prettier-ignore
          );
        if (!open) {
          problems.push(`${id(monitor)}: ${app}'s NetworkPolicy keeps ${rules.monitoringNamespace} out of port ${declared.containerPort}`); // prettier-ignore
        }
      }
    }
    const own = alerts.get(app);
    if (!own) {
      problems.push(`${app}: no PrometheusRule`);
      continue;
    }
    for (const [what, pattern] of Object.entries(rules.alerts[app])) {
      if (!own.some((rule) => rule.alert && pattern.test(rule.expr))) {
        problems.push(`PrometheusRule/${app}: no alert on ${what}`);
      }
    }
  }
  for (const [name, list] of alerts) {
    for (const rule of list) {
      const at = `PrometheusRule/${name} ${rule.alert ?? rule.record}`;
      if (typeof rule.expr !== 'string') problems.push(`${at}: no expression`);
      else if (promqlErrors(rule.expr))
        problems.push(`${at}: expression does not parse: ${rule.expr}`);
      if (rule.alert && !rule.labels?.severity) problems.push(`${at}: no severity label`);
      if (rule.alert && !rule.annotations?.summary) problems.push(`${at}: no summary`);
    }
  }
  return problems;
}
