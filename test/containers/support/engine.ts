/**
 * What the container test drives: docker-compose (the user's command), and the
 * Docker API that DOCKER_HOST serves (podman here, Docker anywhere else) for
 * what compose does not print: a container's state, health, limits, ports.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command`; resolves with its exit code and output, whatever the code. */
export function run(command: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({ code: err ? (typeof code === 'number' ? code : 1) : 0, stdout, stderr });
    });
  });
}

/** `docker-compose <args>` on the repository's docker-compose.yml; throws unless it exits 0. */
export async function compose(args: string[], timeoutMs = 600_000): Promise<string> {
  const result = await run('docker-compose', args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(
      `docker-compose ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

/** A GET of the Docker API on DOCKER_HOST's unix socket, as JSON. */
export function dockerApi<T>(path: string): Promise<T> {
  const host = process.env.DOCKER_HOST ?? '';
  if (!host.startsWith('unix://')) throw new Error(`DOCKER_HOST=${host}: expected unix://<socket>`);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: host.slice('unix://'.length), path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => (body += text));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
        else resolve(JSON.parse(body) as T);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The fields of `GET /containers/{id}/json` the test reads. */
export interface ContainerInfo {
  Id: string;
  Name: string;
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    Health?: { Status: string };
  };
  Config: { User: string; Labels: Record<string, string> };
  HostConfig: {
    ReadonlyRootfs: boolean;
    Memory: number;
    LogConfig: { Type: string; Config: Record<string, string> | null };
    PortBindings: Record<string, { HostIp: string; HostPort: string }[] | null>;
  };
  LogPath?: string;
}

const label = (project: string) =>
  encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));

/** Every container, network and volume the compose project owns (labelled by compose). */
export async function projectObjects(project: string) {
  const [containers, networks, volumes] = await Promise.all([
    dockerApi<{ Id: string }[]>(`/containers/json?all=1&filters=${label(project)}`),
    dockerApi<{ Name: string }[]>(`/networks?filters=${label(project)}`),
    dockerApi<{ Volumes: { Name: string }[] | null }>(`/volumes?filters=${label(project)}`),
  ]);
  return {
    containers: containers.map((c) => c.Id),
    networks: networks.map((n) => n.Name),
    volumes: (volumes.Volumes ?? []).map((v) => v.Name),
  };
}

/** The project's containers of `service` (all replicas), inspected. */
export async function serviceContainers(
  project: string,
  service: string,
): Promise<ContainerInfo[]> {
  const { containers } = await projectObjects(project);
  const infos = await Promise.all(
    containers.map((id) => dockerApi<ContainerInfo>(`/containers/${id}/json`)),
  );
  return infos
    .filter((info) => info.Config.Labels['com.docker.compose.service'] === service)
    .sort(
      (a, b) =>
        Number(a.Config.Labels['com.docker.compose.container-number']) -
        Number(b.Config.Labels['com.docker.compose.container-number']),
    );
}

/** Bytes of a size with decimal units, as engines print and parse `max-size` (`200k`, `200kB`). */
export function decimalBytes(size: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(size.trim());
  if (!match) throw new Error(`not a size: ${size}`);
  return Math.round(Number(match[1]) * 1000 ** ' kmg'.indexOf(match[2].toLowerCase() || ' '));
}

/**
 * The log size limit the engine applies to a container, in bytes: Docker reports
 * the `max-size` option in HostConfig.LogConfig.Config; podman's Docker API drops
 * it (Config: null) and reports it in its own inspect, as LogConfig.Size.
 */
export async function logSizeLimit(info: ContainerInfo): Promise<number | undefined> {
  const option = info.HostConfig.LogConfig.Config?.['max-size'];
  if (option) return decimalBytes(option);
  const podman = await run('podman', ['inspect', '-f', '{{.HostConfig.LogConfig.Size}}', info.Id]);
  const size = podman.stdout.trim();
  return podman.code === 0 && size && size !== '0B' ? decimalBytes(size) : undefined;
}
