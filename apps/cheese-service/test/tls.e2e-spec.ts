import { execFile as execFileCb } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  AppProcess,
  clientTlsEnv,
  freePort,
  generateDevCerts,
  serverTlsEnv,
  type DevCerts,
} from '#launcher';
import { cheesefarm } from '#proto';
import {
  createGrpcClient,
  createHealthClient,
  grpcChannelCredentials,
  waitForServing,
} from '#grpc';
import { orderCheese } from './support/order-cheese.js';

const execFile = promisify(execFileCb);
const PYTHON = '/usr/bin/python3';
const TALK_DIR = fileURLToPath(new URL('./talk/', import.meta.url));

interface SecureClientReport {
  cheese?: { type: number; type_name: string; age: number };
  error?: { code: string; details: string };
}

let scratch: string;
let certs: DevCerts;
let stubsDir: string;
/** The talk client's working directory: the CA as cert.pem, as the talk names it. */
let talkCwd: string;

beforeAll(async () => {
  await execFile(PYTHON, ['-c', 'import grpc, grpc_tools.protoc']).catch((err: unknown) => {
    throw new Error(
      `${PYTHON} cannot import grpc/grpc_tools; install python3-grpcio and python3-grpc-tools.\n${String(err)}`,
    );
  });
  scratch = await mkdtemp(join(tmpdir(), 'cheese-tls-'));
  certs = await generateDevCerts(join(scratch, 'certs'));
  stubsDir = join(scratch, 'stubs');
  talkCwd = join(scratch, 'talk');
  await Promise.all([mkdir(stubsDir), mkdir(talkCwd)]);
  await copyFile(certs.ca, join(talkCwd, 'cert.pem'));
  await execFile(PYTHON, [
    '-m',
    'grpc_tools.protoc',
    `-I${TALK_DIR}`,
    `--python_out=${stubsDir}`,
    `--grpc_python_out=${stubsDir}`,
    'cheese.proto',
  ]);
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Starts cheese-service with `env`; resolves once it is SERVING to a client with `creds`. */
async function startCheese(env: Record<string, string>, creds: ChannelCredentials) {
  const port = await freePort();
  const app = await AppProcess.start('cheese-service', {
    port,
    env: { CHEESE_GRPC_HOST: '127.0.0.1', ...env },
  });
  const health = createHealthClient(`127.0.0.1:${port}`, creds);
  try {
    await waitForServing(health);
  } finally {
    health.close();
  }
  return { app, port };
}

/** The talk's Demo 2 client, run as the talk runs it: cert.pem in its working directory. */
async function runTalkSecureClient(port: number): Promise<SecureClientReport> {
  const { stdout } = await execFile(
    PYTHON,
    [join(TALK_DIR, 'order_cheese_secure.py'), `localhost:${port}`, stubsDir],
    { cwd: talkCwd, timeout: 60_000 },
  );
  return JSON.parse(stdout) as SecureClientReport;
}

async function orderWith(port: number, creds: ChannelCredentials) {
  const client = createGrpcClient('cheese', `127.0.0.1:${port}`, creds);
  try {
    return await orderCheese(client, cheesefarm.CheeseType.BRIE);
  } finally {
    client.close();
  }
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'OK',
    (err: ServiceError) => status[err.code],
  );

describe('cheese-service over TLS (GRPC_TLS_CERT, GRPC_TLS_KEY)', () => {
  let app: AppProcess | undefined;
  let port: number;

  beforeAll(async () => {
    ({ app, port } = await startCheese(
      serverTlsEnv(certs),
      grpcChannelCredentials({ GRPC_TLS_CA: certs.ca }),
    ));
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("serves the talk's Python TLS client, which trusts cert.pem (the generated CA)", async () => {
    const report = await runTalkSecureClient(port);
    expect(report.error).toBeUndefined();
    expect(report.cheese).toMatchObject({ type: 1, type_name: 'BRIE' });
    expect(report.cheese!.age).toBeGreaterThan(0);
  });

  it('fails a plaintext client on the TLS port with UNAVAILABLE', async () => {
    expect(await codeOf(orderWith(port, credentials.createInsecure()))).toBe('UNAVAILABLE');
  });

  it('says at start-up that it serves TLS', () => {
    expect(app!.logMessages).toContain('gRPC transport: TLS; no token required');
  });
});

describe('cheese-service over mutual TLS (GRPC_TLS_CLIENT_CA as well)', () => {
  let app: AppProcess | undefined;
  let port: number;
  const gateway = () => grpcChannelCredentials(clientTlsEnv(certs));

  beforeAll(async () => {
    ({ app, port } = await startCheese(serverTlsEnv(certs, { mutual: true }), gateway()));
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("serves a client presenting the gateway's certificate", async () => {
    expect((await orderWith(port, gateway())).type).toBe(cheesefarm.CheeseType.BRIE);
  });

  it("refuses the talk's client, which has no certificate of its own", async () => {
    const report = await runTalkSecureClient(port);
    expect(report.cheese).toBeUndefined();
    expect(report.error?.code).toBe('UNAVAILABLE');
  });

  it('refuses a grpc-js client without a certificate', async () => {
    const noCert = grpcChannelCredentials({ GRPC_TLS_CA: certs.ca });
    expect(await codeOf(orderWith(port, noCert))).toBe('UNAVAILABLE');
  });
});

describe('cheese-service with unusable TLS settings', () => {
  it.each([
    [
      'a certificate file that is not there',
      () => ({ GRPC_TLS_CERT: join(scratch, 'missing.pem'), GRPC_TLS_KEY: certs.serverKey }),
      /GRPC_TLS_CERT=".*missing\.pem": must name an existing file/,
    ],
    [
      'a key without a certificate',
      () => ({ GRPC_TLS_KEY: certs.serverKey }),
      /GRPC_TLS_KEY=.*needs GRPC_TLS_CERT set as well/,
    ],
    [
      "a key that is not the certificate's",
      () => ({ GRPC_TLS_CERT: certs.serverCert, GRPC_TLS_KEY: certs.clientKey }),
      /GRPC_TLS_KEY=.*client-key\.pem is not the private key of GRPC_TLS_CERT=/,
    ],
  ])('stops at start-up on %s, naming the variable', async (_case, env, message) => {
    const err = (await AppProcess.start('cheese-service', {
      port: await freePort(),
      env: { CHEESE_GRPC_HOST: '127.0.0.1', ...env() },
    }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/exited with 1/);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('PRIVATE KEY');
  });
});
