/**
 * The compose file's checks: Debian's docker-compose 1.29 must accept it (the
 * oldest compose users run), and the project's rules hold for what it resolves to.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { effective, isPinnedImage, parseDockerfile } from './dockerfile.js';
import { ROOT, runTool } from './tools.js';

/** An empty .env (compose 1.29 wants a regular file, not /dev/null): the file's defaults apply. */
const EMPTY_ENV_FILE = join(ROOT, 'test/fixtures/deploy/compose/empty.env');

/** What `docker-compose config` prints, as far as the rules read it. */
export interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; dockerfile?: string };
  profiles?: string[];
  user?: string;
  read_only?: boolean;
  privileged?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }>;
  volumes?: (string | { type: string; source?: string; target: string })[];
  environment?: Record<string, string | null>;
  /** `host_ip:published:target/protocol` when a host address is set, else the long form. */
  ports?: (string | { published?: number | string; target: number; host_ip?: string })[];
  restart?: string;
  stop_grace_period?: string;
  mem_limit?: string | number;
  deploy?: { resources?: { limits?: { memory?: string } } };
  logging?: { driver?: string; options?: Record<string, string> };
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
}

export interface ComposeRules {
  /** Services built from the Dockerfile target of the same name (the apps). */
  appServices: readonly string[];
  /** Environment variables holding file paths: they must point into a mounted volume. */
  fileVariables: RegExp;
  /** Those of them that hold a private key: no other app may mount the volume it is in. */
  keyVariables: RegExp;
}

/** A published port as `docker-compose config` prints it: host address (if any), port. */
export interface PublishedPort {
  hostIp?: string;
  published?: string;
  target: string;
}

export function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') {
      return {
        hostIp: port.host_ip,
        published: port.published === undefined ? undefined : String(port.published),
        target: String(port.target),
      };
    }
    // [host_ip:][published:]target[/protocol]; an IPv6 host address is in brackets.
    const ipv6 = /^(\[[^\]]*\]):(.*)$/.exec(port);
    const parts = (ipv6 ? ipv6[2] : port).replace(/\/\w+$/, '').split(':');
    const target = parts.pop()!;
    const published = parts.pop();
    return { hostIp: ipv6 ? ipv6[1] : parts.pop(), published, target };
  });
}

/** Loopback addresses: a port published there is reachable from this host only. */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[?::1\]?|localhost)$/;

/** Rotating log drivers, and the option that bounds json-file's files. */
function logRotated(logging: ComposeService['logging']): boolean {
  if (logging?.driver === 'local') return true; // rotates by default
  return (
    (logging?.driver ?? 'json-file') === 'json-file' && Boolean(logging?.options?.['max-size'])
  );
}

/**
 * `docker-compose -f <file> [-f <override>...] [--profile p] config`, with no .env
 * and none of the caller's variables, so that the file is checked as a fresh clone
 * sees it. Several files are merged in their order, as compose does.
 */
export async function composeConfig(
  file: string | readonly string[],
  profiles: string[] = [],
  envFile = EMPTY_ENV_FILE,
): Promise<{ problems: string[]; config?: ComposeConfig }> {
  const files = typeof file === 'string' ? [file] : file;
  const args = [...files.flatMap((f) => ['-f', f]), '--env-file', envFile];
  for (const profile of profiles) args.push('--profile', profile);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  const cwd = dirname(files[0]);
  const result = await runTool('docker-compose', [...args, 'config'], { cwd, env });
  if (result.code !== 0) {
    return { problems: [`docker-compose config: ${result.stderr.trim() || result.stdout.trim()}`] };
  }
  return { problems: [], config: parse(result.stdout) as ComposeConfig };
}

/** Seconds in a compose duration such as `20s`, `1m30s`. */
function durationSeconds(text: string | undefined): number {
  let seconds = 0;
  for (const [, n, unit] of (text ?? '').matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)) {
    seconds += Number(n) * { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[unit]!;
  }
  return seconds;
}

/** Where each volume of `service` is mounted in the container. */
function mountTargets(service: ComposeService): string[] {
  return (service.volumes ?? []).map((v) =>
    typeof v === 'string' ? (v.split(':')[1] ?? v) : v.target,
  );
}

/** Every rule the resolved `config` breaks (none: it passes). */
export function checkComposeRules(config: ComposeConfig, rules: ComposeRules): string[] {
  const problems: string[] = [];
  const services = config.services ?? {};
  const problem = (name: string, message: string) => problems.push(`${name}: ${message}`);

  /** The Dockerfile target a service is built from, with its stages. */
  const buildTarget = (service: ComposeService) => {
    if (!service.build?.target) return undefined;
    const path = join(service.build.context, service.build.dockerfile ?? 'Dockerfile');
    if (!existsSync(path)) return undefined;
    const dockerfile = parseDockerfile(readFileSync(path, 'utf8'));
    return dockerfile.stages.find((stage) => stage.name === service.build!.target);
  };
  const hasHealthcheck = (service: ComposeService) =>
    (service.healthcheck && !service.healthcheck.disable) ||
    effective(buildTarget(service), 'HEALTHCHECK') !== undefined;

  for (const name of rules.appServices) {
    const service = services[name];
    if (!service) problem(name, 'missing');
    else if (service.build?.target !== name)
      problem(name, `not built from Dockerfile target ${name}`);
  }

  for (const [name, service] of Object.entries(services)) {
    if (!service.image) problem(name, 'no image name');
    else if (!isPinnedImage(service.image)) {
      problem(name, `image ${service.image} is not pinned to a version (no tag, or latest)`);
    }
    if (service.build) {
      if (!service.build.target) problem(name, 'build without a target');
      else if (!buildTarget(service)) problem(name, `no Dockerfile target ${service.build.target}`);
    }
    if (service.user !== undefined && /^(root|0)(:|$)/.test(String(service.user))) {
      problem(name, 'runs as root');
    }
    if (service.privileged) problem(name, 'privileged');
    if (service.read_only !== true)
      problem(name, 'root filesystem not read-only (read_only: true)');
    if (!service.cap_drop?.includes('ALL'))
      problem(name, 'capabilities not dropped (cap_drop: [ALL])');
    if (!service.security_opt?.some((o) => /^no-new-privileges(:true)?$/.test(o))) {
      problem(name, 'no security_opt no-new-privileges:true');
    }

    // docker-compose config writes every depends_on in the long form.
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      const other = services[dependency];
      if (!other) continue; // docker-compose config reports it
      if (condition !== 'service_healthy' && condition !== 'service_completed_successfully') {
        problem(
          name,
          `depends_on ${dependency} without service_healthy or service_completed_successfully`,
        );
      }
      if (condition === 'service_healthy' && !hasHealthcheck(other)) {
        problem(name, `depends_on ${dependency} being healthy, which has no health check`);
      }
      if (other.profiles?.length && !service.profiles?.length) {
        problem(
          name,
          `depends on ${dependency}, which only runs with --profile ${other.profiles.join('/')}`,
        );
      }
    }

    for (const volume of service.volumes ?? []) {
      const spec = typeof volume === 'string' ? volume : `${volume.source ?? ''}:${volume.target}`;
      const source = spec.split(':')[0];
      if (source.startsWith('/') && !existsSync(source)) {
        problem(name, `bind mount source ${source} does not exist`);
      }
    }

    for (const port of publishedPorts(service)) {
      if (!port.hostIp || !LOOPBACK.test(port.hostIp)) {
        problem(
          name,
          `publishes port ${port.target} on ${port.hostIp || 'every interface'}, not on 127.0.0.1 only`,
        );
      }
    }
    if (service.mem_limit === undefined && !service.deploy?.resources?.limits?.memory) {
      problem(name, 'no memory limit (mem_limit)');
    }
    if (!logRotated(service.logging)) {
      problem(name, 'log not rotated (logging: json-file with max-size, or local)');
    }

    const targets = mountTargets(service);
    for (const [variable, value] of Object.entries(service.environment ?? {})) {
      if (!rules.fileVariables.test(variable) || !value) continue;
      if (!targets.some((target) => value.startsWith(`${target}/`))) {
        problem(name, `${variable}=${value} is in no volume mounted into the container`);
      }
    }
  }
  return problems;
}

/** Where `path` is in `service`: the volume (or bind mount) source whose target holds it. */
function volumeOf(service: ComposeService, path: string): string | undefined {
  let best: { source: string; target: string } | undefined;
  for (const volume of service.volumes ?? []) {
    const [source, target] =
      typeof volume === 'string' ? volume.split(':') : [volume.source ?? '', volume.target];
    if (path.startsWith(`${target}/`) && target.length > (best?.target.length ?? -1)) {
      best = { source, target };
    }
  }
  return best?.source;
}

/**
 * Each app's private keys are its own: the volume holding a key file an app's
 * environment names is mounted into no other app (one compromised app must not
 * read another's keys, nor act as it).
 */
export function checkComposeKeys(config: ComposeConfig, rules: ComposeRules): string[] {
  const problems: string[] = [];
  for (const name of rules.appServices) {
    const service = config.services[name];
    for (const [variable, path] of Object.entries(service?.environment ?? {})) {
      if (!rules.keyVariables.test(variable) || !path) continue;
      const volume = volumeOf(service, path);
      if (!volume) continue; // checkComposeRules reports it
      const sharing = rules.appServices.filter(
        (other) =>
          other !== name &&
          (config.services[other]?.volumes ?? []).some(
            (v) => (typeof v === 'string' ? v.split(':')[0] : v.source) === volume,
          ),
      );
      if (sharing.length) {
        problems.push(
          `${name}: its key ${variable}=${path} is in volume ${volume}, which ${sharing.join(', ')} mount${sharing.length > 1 ? '' : 's'} too`,
        );
      }
    }
  }
  return problems;
}

/** The app services: health checks in their images, and a stop grace longer than theirs. */
export function checkComposeApps(config: ComposeConfig, rules: ComposeRules): string[] {
  const problems: string[] = [];
  for (const name of rules.appServices) {
    const service = config.services[name];
    if (!service) continue;
    const graceMs = Number(service.environment?.SHUTDOWN_GRACE_MS ?? 10_000);
    const stop = durationSeconds(service.stop_grace_period ?? '10s');
    if (stop < graceMs / 1000 + 5) {
      problems.push(
        `${name}: stop_grace_period ${stop}s is shorter than SHUTDOWN_GRACE_MS + 5 s: docker would SIGKILL a graceful shutdown`,
      );
    }
  }
  return problems;
}

/** Everything wrong with the compose `file` (or files, merged): what docker-compose says, then the rules. */
export async function checkCompose(
  file: string | readonly string[],
  rules: ComposeRules,
  profiles: string[] = [],
): Promise<string[]> {
  const { problems, config } = await composeConfig(file, profiles);
  if (!config) return problems;
  return [
    ...checkComposeRules(config, rules),
    ...checkComposeApps(config, rules),
    ...checkComposeKeys(config, rules),
  ];
}
