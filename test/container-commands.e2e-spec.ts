/**
 * The images' commands, run here as the containers run them: each app started
 * with its Dockerfile CMD, judged by its Dockerfile HEALTHCHECK (the script the
 * prod overlay's exec probes run too), the compose stack's certificates made by
 * the `certs` target's command. The argv comes from the Dockerfile itself, so
 * what is tested is what ships. `node` is this Node (the image's version: a
 * test in deploy.e2e-spec.ts keeps them equal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type AppName } from '#launcher';
import { parseDockerfile, targetCommands } from './deploy/dockerfile.js';
import { ROOT } from './deploy/tools.js';

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));

/** The image's argv, with `node` as this process's Node. */
const argv = (command: string[] | undefined) => {
  if (!command) throw new Error('no exec-form command in the Dockerfile');
  return command[0] === 'node' ? [process.execPath, ...command.slice(1)] : command;
};

interface Result {
  code: number | null;
  stderr: string;
}

/** Runs `command` from the repository root (the image's WORKDIR holds the same tree). */
async function run(command: string[], env: Record<string, string> = {}): Promise<Result> {
  const [file, ...args] = argv(command);
  const child = spawn(file, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  // 'close', not 'exit': the exit can come before the last of stderr is read.
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

/** The app's HEALTHCHECK, with extra arguments (as the exec probes pass `--service`). */
const healthcheck = (app: AppName, env: Record<string, string>, ...extra: string[]) =>
  run([...targetCommands(dockerfile, app).healthcheck!, ...extra], env);

/** A container: the app started with its image's CMD. */
class Container {
  private output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on(
      'data',
      (d: Buffer) => (this.output = (this.output + d.toString()).slice(-65536)),
    );
    child.stderr!.on(
      'data',
      (d: Buffer) => (this.output = (this.output + d.toString()).slice(-65536)),
    );
  }

  static start(app: AppName, env: Record<string, string>): Container {
    const [file, ...args] = argv(targetCommands(dockerfile, app).cmd);
    return new Container(
      spawn(file, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'pipe' }),
    );
  }

  /** Until the image's HEALTHCHECK passes, as Docker's start period does. */
  async waitHealthy(app: AppName, env: Record<string, string>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: Result = { code: null, stderr: '' };
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`${app} exited:\n${this.output}`);
      last = await healthcheck(app, env);
      if (last.code === 0) return;
      await sleep(200);
    }
    throw new Error(`${app} not healthy in ${timeoutMs} ms: ${last.stderr}\n${this.output}`);
  }

  /** `docker stop`: SIGTERM, and how the process ended. */
  async stop(): Promise<string> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exit = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    }
    return String(this.child.exitCode ?? this.child.signalCode);
  }
}

let scratch: string;
let composeCerts: Promise<string> | undefined;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'container-commands-'));
});

/** The app volumes the `certs` target's image prepares (its `mkdir -p /certs/<app>`). */
const CERT_VOLUMES = ['gateway', 'cheese-service', 'soccer-service'] as const;

/**
 * The compose stack's certificates, made once by the `certs` target's command
 * with its volumes (`/certs/<app>`, CERTS_DIR) as directories here: the
 * directory holding each app's volume.
 */
function certsFromComposeOneShot(): Promise<string> {
  composeCerts ??= (async () => {
    const out = join(scratch, 'certs');
    for (const app of CERT_VOLUMES) await mkdir(join(out, app), { recursive: true });
    const command = targetCommands(dockerfile, 'certs').cmd!;
    expect(command.at(-1)).toBe('/certs');
    const made = await run([...command.slice(0, -1), out], {
      CERTS_DIR: join(scratch, 'certs-ca'),
    });
    expect(made).toMatchObject({ code: 0 });
    return out;
  })();
  return composeCerts;
}

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('cheese-service image: CMD and HEALTHCHECK', () => {
  it('is healthy once serving, exits 0 on SIGTERM (docker stop), then is unhealthy', async () => {
    const port = await freePort();
    const env = {
      CHEESE_GRPC_PORT: String(port),
      CHEESE_GRPC_HOST: '127.0.0.1',
      METRICS_PORT: '0',
    };
    const container = Container.start('cheese-service', env);
    try {
      await container.waitHealthy('cheese-service', env);
      // The readiness probe of the prod overlay asks for the service by name.
      expect(
        await healthcheck('cheese-service', env, '--service', 'cheesefarm.CheeseService'),
      ).toEqual({
        code: 0,
        stderr: '',
      });
      const unknown = await healthcheck('cheese-service', env, '--service', 'no.Such');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(
        `cheese-service unhealthy: localhost:${port} health "no.Such": `,
      );
    } finally {
      expect(await container.stop()).toBe('0');
    }
    const stopped = await healthcheck('cheese-service', env);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain(`cheese-service unhealthy: localhost:${port} health "":`);
  });

  it('says how to call it when given no app', async () => {
    const result = await run(['node', 'dist/scripts/healthcheck.js']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'usage: node dist/scripts/healthcheck.js <cheese-service|soccer-service|gateway>',
    );
  });
});

describe('the compose stack on mutual TLS: the certs one-shot, then the health check over mTLS', () => {
  let volumes: string;
  let container: Container;
  let env: Record<string, string>;

  beforeAll(async () => {
    volumes = await certsFromComposeOneShot();

    // The environment docker-compose.yml gives a service (x-service-tls), with these paths.
    const own = (file: string) => join(volumes, 'cheese-service', file);
    const port = await freePort();
    env = {
      CHEESE_GRPC_PORT: String(port),
      CHEESE_GRPC_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      GRPC_TLS_CERT: own('server.pem'),
      GRPC_TLS_KEY: own('server-key.pem'),
      GRPC_TLS_CLIENT_CA: own('client-ca.pem'),
      GRPC_TLS_CA: own('ca.pem'),
      GRPC_TLS_CLIENT_CERT: own('healthcheck.pem'),
      GRPC_TLS_CLIENT_KEY: own('healthcheck-key.pem'),
    };
    container = Container.start('cheese-service', env);
    await container.waitHealthy('cheese-service', env);
  });

  afterAll(async () => {
    await container?.stop();
  });

  it('gives each app only its own certificates, and keeps the CA key to itself', async () => {
    const service = [
      'ca.pem',
      'client-ca.pem',
      'healthcheck-key.pem',
      'healthcheck.pem',
      'server-key.pem',
      'server.pem',
    ];
    expect({
      gateway: (await readdir(join(volumes, 'gateway'))).sort(),
      'cheese-service': (await readdir(join(volumes, 'cheese-service'))).sort(),
      'soccer-service': (await readdir(join(volumes, 'soccer-service'))).sort(),
    }).toEqual({
      // server*.pem: its HTTPS listener's, read when docker-compose.https.yml is added.
      gateway: ['ca.pem', 'client-key.pem', 'client.pem', 'server-key.pem', 'server.pem'],
      'cheese-service': service,
      'soccer-service': service,
    });
    expect(await readdir(join(scratch, 'certs-ca'))).toContain('ca-key.pem');
  });

  it.each(CERT_VOLUMES)(
    'gives %s a server certificate of its own: signed by the CA, naming it, localhost and loopback',
    async (app) => {
      const ca = new X509Certificate(await readFile(join(volumes, app, 'ca.pem')));
      const cert = new X509Certificate(await readFile(join(volumes, app, 'server.pem')));
      expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subjectAltName).toBe(
        `DNS:${app}, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`,
      );
      expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // extended key usage: serverAuth
      expect(cert.ca).toBe(false);
    },
  );

  it('keeps every certificate on a second run (compose runs the one-shot at each up)', async () => {
    const files = async () =>
      Promise.all(
        CERT_VOLUMES.flatMap((app) =>
          ['ca.pem', 'server.pem', 'server-key.pem'].map((f) => readFile(join(volumes, app, f))),
        ),
      );
    const first = await files();
    const command = targetCommands(dockerfile, 'certs').cmd!;
    expect(
      await run([...command.slice(0, -1), volumes], { CERTS_DIR: join(scratch, 'certs-ca') }),
    ).toMatchObject({ code: 0 });
    expect(await files()).toEqual(first);
  });

  it('passes with the CA and the client certificate', async () => {
    expect(await healthcheck('cheese-service', env)).toEqual({ code: 0, stderr: '' });
  });

  it('fails, saying why, without the CA or without the client certificate', async () => {
    // An empty value is unset, as in a compose file.
    const noClientCert = { ...env, GRPC_TLS_CLIENT_CERT: '', GRPC_TLS_CLIENT_KEY: '' };
    const noCa = await healthcheck('cheese-service', { ...noClientCert, GRPC_TLS_CA: '' });
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toContain('give the probe GRPC_TLS_CA');
    const refused = await healthcheck('cheese-service', noClientCert);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^cheese-service unhealthy: /);
  });

  it('checks the certificate for GRPC_TLS_SERVER_NAME, as the prod overlay sets it', async () => {
    expect(
      await healthcheck('cheese-service', { ...env, GRPC_TLS_SERVER_NAME: 'cheese-service' }),
    ).toEqual({
      code: 0,
      stderr: '',
    });
    const wrong = await healthcheck('cheese-service', {
      ...env,
      GRPC_TLS_SERVER_NAME: 'elsewhere.example',
    });
    expect(wrong.code).toBe(1);
  });
});

describe('soccer-service image: HEALTHCHECK', () => {
  it('is unhealthy while its MEDIA_DIR takes no writes (health NOT_SERVING), though the process runs', async () => {
    // A MEDIA_DIR whose parent is a file: ENOTDIR for everyone, root included.
    const file = join(scratch, 'not-a-dir');
    await writeFile(file, '');
    const port = await freePort();
    const env = {
      SOCCER_GRPC_PORT: String(port),
      SOCCER_GRPC_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      MEDIA_DIR: join(file, 'media'),
    };
    const container = Container.start('soccer-service', env);
    try {
      let result: Result = { code: null, stderr: '' };
      for (let i = 0; i < 100 && !result.stderr.includes('NOT_SERVING'); i++) {
        result = await healthcheck('soccer-service', env);
        await sleep(100);
      }
      expect(result).toEqual({
        code: 1,
        stderr: `soccer-service unhealthy: localhost:${port} health "": NOT_SERVING\n`,
      });
      expect(container.child.exitCode).toBeNull();
    } finally {
      expect(await container.stop()).toBe('0');
    }
  });
});

describe('gateway image: CMD and HEALTHCHECK (GET /healthz)', () => {
  it('is healthy once listening, exits 0 on SIGTERM, then is unhealthy', async () => {
    const port = await freePort();
    const env = { GATEWAY_HTTP_PORT: String(port), GATEWAY_HTTP_HOST: '127.0.0.1' };
    const container = Container.start('gateway', env);
    try {
      await container.waitHealthy('gateway', env);
    } finally {
      expect(await container.stop()).toBe('0');
    }
    const stopped = await healthcheck('gateway', env);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain(
      `gateway unhealthy: GET localhost:${port}/healthz: connect ECONNREFUSED`,
    );
  });
});

/**
 * A TLS handshake with the gateway as a browser makes it: ALPN offering h2 and
 * HTTP/1.1, the certificate checked against `ca` for `servername` (or the IP).
 * The protocol chosen, or the code of the error that refused the certificate.
 */
function handshake(port: number, ca: Buffer | undefined, servername?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca,
      servername,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    socket.once('secureConnect', () => {
      resolve(String(socket.alpnProtocol));
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** GET `path` over HTTP/2 to 127.0.0.1:`port`, trusting `ca` only: the status. */
async function h2Status(port: number, ca: Buffer, path: string): Promise<number> {
  const session = http2Connect(`https://127.0.0.1:${port}`, { ca });
  try {
    await once(session, 'connect');
    const req = session.request({ ':path': path });
    const [headers] = (await once(req, 'response')) as [Record<string, string | number>];
    req.resume();
    await once(req, 'end');
    return Number(headers[':status']);
  } finally {
    session.close();
  }
}

describe('the gateway on HTTPS, with the certificate the certs one-shot gives it (docker-compose.https.yml)', () => {
  let container: Container;
  let env: Record<string, string>;
  let ca: Buffer;
  let port: number;

  beforeAll(async () => {
    const volume = join(await certsFromComposeOneShot(), 'gateway');
    ca = await readFile(join(volume, 'ca.pem'));
    port = await freePort();
    // What docker-compose.https.yml adds to the gateway's environment, with these paths.
    env = {
      GATEWAY_HTTP_PORT: String(port),
      GATEWAY_HTTP_HOST: '127.0.0.1',
      GATEWAY_TLS_CERT: join(volume, 'server.pem'),
      GATEWAY_TLS_KEY: join(volume, 'server-key.pem'),
    };
    container = Container.start('gateway', env);
    await container.waitHealthy('gateway', env);
  });

  afterAll(async () => {
    await container?.stop();
  });

  it('passes the image health check, which asks over HTTPS (GATEWAY_TLS_CERT)', async () => {
    expect(await healthcheck('gateway', env)).toEqual({ code: 0, stderr: '' });
    // Plain HTTP to that port gets no answer the check takes.
    const plain = await healthcheck('gateway', { ...env, GATEWAY_TLS_CERT: '' });
    expect(plain.code).toBe(1);
  });

  it('speaks h2 (ALPN) to a client trusting the development CA, under each name the certificate has', async () => {
    expect(await handshake(port, ca)).toBe('h2'); // 127.0.0.1
    expect(await handshake(port, ca, 'localhost')).toBe('h2');
    expect(await handshake(port, ca, 'gateway')).toBe('h2');
    expect(await h2Status(port, ca, '/healthz')).toBe(200);
  });

  it('is refused by a client without the CA, or for a name the certificate does not have', async () => {
    expect(await handshake(port, undefined, 'localhost')).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await handshake(port, ca, 'cheese-service')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
});
