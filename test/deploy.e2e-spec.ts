/**
 * CI's checks of what ships: the Dockerfile and docker-compose.yml, validated
 * offline (no Docker engine here); the Kubernetes manifests' are in
 * kubernetes.e2e-spec.ts.
 * Each check also runs on a broken fixture (test/fixtures/deploy/) and must
 * reject it, which shows it can fail. A missing docker-compose or kubectl
 * fails the checks with how to install it; nothing is skipped.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APPS, type AppName } from '#launcher';
import {
  checkCompose,
  checkComposeApps,
  composeConfig,
  publishedPorts,
  type ComposeConfig,
  type ComposeRules,
} from './deploy/compose.js';
import {
  checkDockerfile,
  dockerignorePatterns,
  isDockerignored,
  parseDockerfile,
  targetCommands,
} from './deploy/dockerfile.js';
import { runtimePackages } from './deploy/runtime-imports.js';
import { ROOT, runTool } from './deploy/tools.js';

const APP_NAMES = Object.keys(APPS) as AppName[];
const GRPC_APPS = APP_NAMES.filter((name) => name !== 'gateway');
const HEALTHCHECK = ['node', 'dist/scripts/healthcheck.js'];
const FIXTURES = join(ROOT, 'test/fixtures/deploy');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const DOCKERFILE_RULES = { appTargets: APP_NAMES };
const COMPOSE_RULES: ComposeRules = {
  appServices: APP_NAMES,
  // Certificate and key paths: they must be inside a volume the container mounts.
  fileVariables:
    /^(GRPC_TLS_(CERT|KEY|CA|CLIENT_CA|CLIENT_CERT|CLIENT_KEY)|GATEWAY_TLS_(CERT|KEY))$/,
  keyVariables: /^(GRPC_TLS_(KEY|CLIENT_KEY)|GATEWAY_TLS_KEY)$/,
};
describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const dockerfile = parseDockerfile(text);

  it('passes the hadolint-style and project rules', () => {
    expect(checkDockerfile(text, DOCKERFILE_RULES)).toEqual([]);
  });

  it.each(APP_NAMES)(
    'target %s runs `npm run start:<app>`’s command with node as PID 1, and the health check script',
    (app) => {
      const { cmd, healthcheck } = targetCommands(dockerfile, app);
      // The same argv AppProcess (npm start, the e2e tests) spawns; package.json's
      // start:<app> is held to it by libs/launcher/src/apps.spec.ts.
      expect(cmd).toEqual(['node', ...APPS[app].nodeArgs, APPS[app].entry]);
      expect(healthcheck).toEqual([...HEALTHCHECK, app]);
      for (const file of [APPS[app].entry, HEALTHCHECK[1]]) {
        expect(existsSync(join(ROOT, file)), `${file} is built by npm run build`).toBe(true);
      }
    },
  );

  it('holds every package the apps and the health check import: production dependencies only', () => {
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const entries = APP_NAMES.flatMap((app) => {
      const { cmd, healthcheck } = targetCommands(dockerfile, app);
      return [cmd!.at(-1)!, healthcheck![1]];
    });
    const imported = runtimePackages(ROOT, entries);
    expect(imported.size).toBeGreaterThan(10);
    const missing = [...imported].filter(([name]) => !(name in pkg.dependencies));
    // `npm ci --omit=dev` would leave these out of the image.
    expect(missing.map(([name, file]) => `${name} (imported by ${file})`)).toEqual([]);
  });

  it('builds on the Node version the tests run on', () => {
    const base = dockerfile.stages.find((stage) => stage.name === 'base')!;
    expect(base.from).toBe(`node:${process.versions.node}-bookworm-slim`);
  });

  it('sends nothing but the sources into the build context', () => {
    const patterns = dockerignorePatterns(read('.dockerignore'));
    for (const path of [
      'node_modules/@grpc/grpc-js/package.json',
      'dist/apps/gateway/src/main.js',
      'certs/ca-key.pem',
      'media/final.mp4',
      '.git/HEAD',
      '.env',
      'apps/gateway/test/health.e2e-spec.ts',
      'libs/grpc/src/grpc-auth.spec.ts',
      'test/fixtures/deploy/Dockerfile.broken',
      'screenshots/web/1.png',
    ]) {
      expect(isDockerignored(patterns, path), `${path} is left out`).toBe(true);
    }
    const copied = ['package.json', 'package-lock.json', 'apps/gateway/src/main.ts'];
    for (const path of [
      ...copied,
      'libs/proto/proto/cheesefarm/cheese.proto',
      'scripts/certs.mjs',
    ]) {
      expect(isDockerignored(patterns, path), `${path} is in the context`).toBe(false);
    }
    // What the Dockerfile copies from the context is in it.
    for (const stage of dockerfile.stages) {
      for (const { keyword, args } of stage.instructions) {
        if (keyword !== 'COPY' || args.includes('--from=')) continue;
        for (const source of args.split(/\s+/).slice(0, -1)) {
          expect(isDockerignored(patterns, source), `COPY ${source}`).toBe(false);
        }
      }
    }
  });

  it('rejects a broken Dockerfile (the same rules fail)', () => {
    const problems = checkDockerfile(
      readFileSync(join(FIXTURES, 'Dockerfile.broken'), 'utf8'),
      DOCKERFILE_RULES,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'line 2: [DL3006/DL3007] base image node:latest is not pinned to a version',
        'line 3: [DL3000] WORKDIR app must be an absolute path',
        'line 4: [DL3020] use COPY instead of ADD',
        'line 5: [DL3015] apt-get install without --no-install-recommends',
        'line 5: [DL3014] apt-get install without -y',
        'line 5: [DL3009] apt lists not removed (rm -rf /var/lib/apt/lists/*) in the same RUN',
        'line 6: use `npm ci` (the lockfile), not `npm install`',
        'line 7: ENV holds a secret-looking variable: secrets belong at run time, not in an image',
        'line 9: [DL3025] CMD must use the exec (JSON) form, so that signals reach the process',
        'target 0: [DL3002] runs as root (add USER node)',
        'target cheese-service: missing',
      ]),
    );
  });
});

describe('docker-compose.yml (Debian docker-compose 1.29)', () => {
  const file = join(ROOT, 'docker-compose.yml');
  let config: ComposeConfig;

  beforeAll(async () => {
    const result = await composeConfig(file);
    expect(result.problems).toEqual([]);
    config = result.config!;
  });

  it('is valid and keeps the project rules, without the observability profile', async () => {
    expect(await checkCompose(file, COMPOSE_RULES)).toEqual([]);
  });

  it('is valid and keeps the project rules with --profile observability', async () => {
    expect(await checkCompose(file, COMPOSE_RULES, ['observability'])).toEqual([]);
    const profiled = Object.entries(config.services).filter(([, s]) => s.profiles?.length);
    expect(profiled.map(([name]) => name).sort()).toEqual([
      'jaeger',
      'otel-collector',
      'prometheus',
    ]);
  });

  it('runs the apps on mutual TLS, each with its own certificates from the certs one-shot, the gateway on 127.0.0.1:3000', () => {
    const { certs, gateway } = config.services;
    expect(certs.build?.target).toBe('certs');
    // Each app mounts its own volume at /certs, which the one-shot fills.
    for (const app of APP_NAMES) {
      expect(config.services[app].volumes).toContain(`certs-${app}:/certs:ro`);
      expect(certs.volumes).toContain(`certs-${app}:/certs/${app}:rw`);
      expect(config.services[app].depends_on).toBeDefined();
    }
    for (const service of GRPC_APPS) {
      expect(config.services[service].environment).toMatchObject({
        GRPC_TLS_CERT: '/certs/server.pem',
        GRPC_TLS_KEY: '/certs/server-key.pem',
        GRPC_TLS_CLIENT_CA: '/certs/client-ca.pem',
      });
    }
    expect(gateway.environment).toMatchObject({
      GRPC_TLS_CA: '/certs/ca.pem',
      GRPC_TLS_CLIENT_CERT: '/certs/client.pem',
      GRPC_TLS_CLIENT_KEY: '/certs/client-key.pem',
    });
    expect(gateway.environment).not.toHaveProperty('GRPC_TLS_KEY');
    expect(publishedPorts(gateway)).toEqual([
      { hostIp: '127.0.0.1', published: '3000', target: String(APPS.gateway.defaultPort) },
    ]);
    expect(gateway.environment).toMatchObject({
      CHEESE_GRPC_URL: `dns:///cheese-service:${APPS['cheese-service'].defaultPort}`,
      SOCCER_GRPC_URL: `dns:///soccer-service:${APPS['soccer-service'].defaultPort}`,
    });
    expect(config.services['soccer-service'].environment?.REDIS_URL).toBe('redis://redis:6379');
  });

  it('serves the gateway over HTTPS with docker-compose.https.yml added, with its own certificate; nothing else changes', async () => {
    const files = [file, join(ROOT, 'docker-compose.https.yml')];
    expect(await checkCompose(files, COMPOSE_RULES)).toEqual([]);
    const { problems, config: https } = await composeConfig(files);
    expect(problems).toEqual([]);
    // The files the certs one-shot puts in the gateway's volume (deploy/compose/certs.sh;
    // container-commands.e2e-spec.ts runs it).
    const plain = config.services.gateway;
    expect(plain.environment).not.toHaveProperty('GATEWAY_TLS_CERT');
    expect(https!.services.gateway).toEqual({
      ...plain,
      environment: {
        ...plain.environment,
        GATEWAY_TLS_CERT: '/certs/server.pem',
        GATEWAY_TLS_KEY: '/certs/server-key.pem',
      },
    });
    // docker-compose 1.29 prints a service's volumes in no fixed order.
    const sorted = (services: ComposeConfig['services']) =>
      Object.fromEntries(
        Object.entries(services).map(([name, service]) => [
          name,
          { ...service, volumes: service.volumes?.map((v) => JSON.stringify(v)).sort() },
        ]),
      );
    expect(sorted({ ...https!.services, gateway: plain })).toEqual(sorted(config.services));
    expect(read('README.md')).toContain(
      'docker compose -f docker-compose.yml -f docker-compose.https.yml up',
    );
  });

  it('opens every published port to the network with PUBLISH_ADDRESS=0.0.0.0 (docs/deploy.md)', async () => {
    const { problems, config: opened } = await composeConfig(
      file,
      ['observability'],
      join(FIXTURES, 'compose/publish-everywhere.env'),
    );
    expect(problems).toEqual([]);
    const ports = Object.entries(opened!.services).flatMap(([name, service]) =>
      publishedPorts(service).map((port) => `${name} ${port.hostIp}:${port.published}`),
    );
    expect(ports.sort()).toEqual([
      'gateway 0.0.0.0:3000',
      'jaeger 0.0.0.0:16686',
      'prometheus 0.0.0.0:9090',
    ]);
    expect(read('docs/deploy.md')).toMatch(/`PUBLISH_ADDRESS`\s*\|\s*`127\.0\.0\.1`/);
  });

  it("has Prometheus scrape each app's metrics port", () => {
    const prometheus = parse(read('deploy/compose/prometheus.yml')) as {
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const scraped = prometheus.scrape_configs.map((job) => [
      job.dns_sd_configs[0].names[0],
      job.dns_sd_configs[0].port,
    ]);
    expect(scraped).toEqual([
      ['cheese-service', APPS['cheese-service'].defaultMetricsPort],
      ['soccer-service', APPS['soccer-service'].defaultMetricsPort],
      ['gateway', APPS.gateway.defaultPort],
    ]);
  });

  it('rejects keys docker-compose 1.29 does not know (the same check fails)', async () => {
    const problems = await checkCompose(
      join(FIXTURES, 'compose/unsupported-keys.yml'),
      COMPOSE_RULES,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^docker-compose config: .*'name' does not match/s);
    expect(problems[0]).toContain("'start_interval' does not match");
  });

  it('rejects a compose file that breaks the project rules (the same check fails)', async () => {
    const problems = await checkCompose(join(FIXTURES, 'compose/rule-breaking.yml'), COMPOSE_RULES);
    expect(problems).toEqual(
      expect.arrayContaining([
        'cheese-service: missing',
        'web: image nginx:latest is not pinned to a version (no tag, or latest)',
        'db: image postgres is not pinned to a version (no tag, or latest)',
        'db: runs as root',
        'web: root filesystem not read-only (read_only: true)',
        'web: capabilities not dropped (cap_drop: [ALL])',
        // docker-compose reads a plain list as `condition: service_started`
        'web: depends_on db without service_healthy or service_completed_successfully',
        'web: depends on tracer, which only runs with --profile observability',
        'cache: depends_on db being healthy, which has no health check',
        expect.stringMatching(/^web: bind mount source \/.*\/missing\.conf does not exist$/),
        'web: GRPC_TLS_CA=/certs/ca.pem is in no volume mounted into the container',
        'web: publishes port 80 on every interface, not on 127.0.0.1 only',
        'cache: publishes port 6379 on 0.0.0.0, not on 127.0.0.1 only',
        'web: no memory limit (mem_limit)',
        'web: log not rotated (logging: json-file with max-size, or local)',
        'cache: log not rotated (logging: json-file with max-size, or local)',
        'gateway: its key GRPC_TLS_CLIENT_KEY=/certs/client-key.pem is in volume certs, which soccer-service mounts too',
        'soccer-service: its key GRPC_TLS_KEY=/certs/server-key.pem is in volume certs, which gateway mounts too',
      ]),
    );
    // The stop grace of an app, shorter than its own graceful shutdown.
    expect(
      checkComposeApps(
        {
          services: {
            gateway: { stop_grace_period: '10s', environment: { SHUTDOWN_GRACE_MS: '10000' } },
          },
        },
        COMPOSE_RULES,
      ),
    ).toEqual([
      'gateway: stop_grace_period 10s is shorter than SHUTDOWN_GRACE_MS + 5 s: docker would SIGKILL a graceful shutdown',
    ]);
  });
});

it('fails, never skips, when a tool is missing', async () => {
  await expect(runTool('kubectl-not-installed', ['kustomize'])).rejects.toThrow(
    'kubectl-not-installed not found on PATH: install it',
  );
});
