import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Metadata,
  Server,
  status,
  type Client,
  type ServerCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { generateDevCerts, type DevCerts } from '#launcher';
import { GRPC_SERVICES, loadServiceProto } from '#proto';
import { createGrpcClient } from './grpc-client.js';
import {
  describeClientSecurity,
  describeServerSecurity,
  grpcChannelCredentials,
  grpcClientSecurity,
  grpcServerCredentials,
  grpcTlsChannelOptions,
  GrpcTlsConfigError,
  type GrpcClientTlsEnv,
} from './grpc-credentials.js';
import { grpcClientOptions } from './grpc-client-options.js';
import { grpcServerOptions } from './grpc-server-options.js';

// Real certificates from `npm run certs` (scripts/certs.mjs), real TLS
// handshakes between a grpc-js server and client on loopback.
let scratch: string;
let certs: DevCerts;
/** A second, unrelated CA: its certificates must be refused. */
let strangers: DevCerts;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'grpc-credentials-'));
  [certs, strangers] = await Promise.all([
    generateDevCerts(join(scratch, 'ours')),
    generateDevCerts(join(scratch, 'strangers')),
  ]);
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function cheeseDefinition(): ServiceDefinition {
  const { package: pkg, service } = GRPC_SERVICES.cheese;
  return loadServiceProto('cheese')[`${pkg}.${service}`] as ServiceDefinition;
}

/** A cheese server bound with `credentials` on a free loopback port. */
async function startServer(
  credentials: ServerCredentials,
): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(cheeseDefinition(), {
    order: (_call: unknown, callback: (err: null, value: object) => void) =>
      callback(null, { type: 1, age: 43 }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

/** One Order through a client built from `env` exactly as the gateway builds its own. */
async function orderWith(port: number, env: GrpcClientTlsEnv): Promise<number> {
  const client: Client = createGrpcClient(
    'cheese',
    `127.0.0.1:${port}`,
    grpcChannelCredentials(env),
    grpcTlsChannelOptions(env),
  );
  try {
    return await new Promise((resolve, reject) =>
      (client as unknown as { order: (...args: unknown[]) => void }).order(
        { type: 1 },
        new Metadata(),
        { deadline: Date.now() + 5000 },
        (err: ServiceError | null, cheese?: { age: number }) =>
          err ? reject(err) : resolve(cheese!.age),
      ),
    );
  } finally {
    client.close();
  }
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'OK',
    (err: ServiceError) => status[err.code],
  );

describe('grpcServerCredentials / grpcChannelCredentials', () => {
  it('are plaintext when nothing is set', () => {
    expect(grpcServerCredentials({})._isSecure()).toBe(false);
    expect(grpcChannelCredentials({})._isSecure()).toBe(false);
    expect(grpcClientSecurity({}).interceptors).toEqual([]);
    expect(grpcTlsChannelOptions({})).toEqual({});
  });

  it('are TLS when the certificate and key (server) or the CA (client) are set', () => {
    expect(
      grpcServerCredentials({ GRPC_TLS_CERT: certs.serverCert, GRPC_TLS_KEY: certs.serverKey })._isSecure(),
    ).toBe(true);
    expect(grpcChannelCredentials({ GRPC_TLS_CA: certs.ca })._isSecure()).toBe(true);
  }); // prettier-ignore

  it('set the server name override only with TLS', () => {
    expect(
      grpcTlsChannelOptions({ GRPC_TLS_CA: certs.ca, GRPC_TLS_SERVER_NAME: 'cheese-service' }),
    ).toEqual({ 'grpc.ssl_target_name_override': 'cheese-service' });
    expect(grpcTlsChannelOptions({ GRPC_TLS_SERVER_NAME: 'cheese-service' })).toEqual({});
  });

  it('refuse a certificate file that holds no certificate, naming the variable', async () => {
    const notPem = join(scratch, 'not-a-cert.pem');
    await writeFile(notPem, 'hello');
    expect(() =>
      grpcServerCredentials({ GRPC_TLS_CERT: notPem, GRPC_TLS_KEY: certs.serverKey }),
    ).toThrow(new GrpcTlsConfigError(`GRPC_TLS_CERT=${notPem}: not a PEM certificate`));
    expect(() => grpcChannelCredentials({ GRPC_TLS_CA: notPem })).toThrow(
      /^GRPC_TLS_CA=.*not a PEM/,
    );
  });

  it('refuse a key that is not a key without showing what the file holds', async () => {
    const badKey = join(scratch, 'bad-key.pem');
    await writeFile(badKey, '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n');
    let message = '';
    try {
      grpcServerCredentials({ GRPC_TLS_CERT: certs.serverCert, GRPC_TLS_KEY: badKey });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^GRPC_TLS_KEY=.*: not an unencrypted PEM private key/);
    expect(message).not.toContain('c2VjcmV0');
  }); // prettier-ignore

  it('refuse a key that does not belong to the certificate', () => {
    expect(() =>
      grpcServerCredentials({ GRPC_TLS_CERT: certs.serverCert, GRPC_TLS_KEY: certs.clientKey }),
    ).toThrow(/GRPC_TLS_KEY=.* is not the private key of GRPC_TLS_CERT=/);
    expect(() =>
      grpcChannelCredentials({
        GRPC_TLS_CA: certs.ca,
        GRPC_TLS_CLIENT_CERT: certs.clientCert,
        GRPC_TLS_CLIENT_KEY: strangers.clientKey,
      }),
    ).toThrow(/GRPC_TLS_CLIENT_KEY=.* is not the private key of GRPC_TLS_CLIENT_CERT=/);
  });

  it('refuse half a pair (when called without the env validation)', () => {
    expect(() => grpcServerCredentials({ GRPC_TLS_KEY: certs.serverKey })).toThrow(
      'GRPC_TLS_CERT and GRPC_TLS_KEY must be set together',
    );
    expect(() => grpcChannelCredentials({ GRPC_TLS_CLIENT_CERT: certs.clientCert })).toThrow(
      'need GRPC_TLS_CA',
    );
  });

  it('describe what is on without naming secrets', () => {
    const token = 'a-token-that-must-not-be-logged';
    expect(describeServerSecurity({})).toBe(
      'gRPC transport: plaintext (no GRPC_TLS_CERT); no token required',
    );
    const server = describeServerSecurity({
      GRPC_TLS_CERT: certs.serverCert,
      GRPC_TLS_KEY: certs.serverKey,
      GRPC_TLS_CLIENT_CA: certs.ca,
      GRPC_AUTH_TOKEN: token,
    });
    expect(server).toMatch(/mutual TLS.*bearer token required/);
    const client = describeClientSecurity({ GRPC_TLS_CA: certs.ca, GRPC_AUTH_TOKEN: token });
    expect(client).toBe('gRPC clients: TLS; bearer token sent');
    expect(describeClientSecurity({ GRPC_AUTH_TOKEN: token })).toMatch(/unencrypted/);
    for (const line of [server, client]) expect(line).not.toContain(token);
  });
});

describe('TLS over loopback', () => {
  let tls: { server: Server; port: number };

  beforeAll(async () => {
    tls = await startServer(
      grpcServerCredentials({ GRPC_TLS_CERT: certs.serverCert, GRPC_TLS_KEY: certs.serverKey }),
    );
  });

  afterAll(() => tls?.server.forceShutdown());

  it('serves a client that trusts the CA', async () => {
    expect(await orderWith(tls.port, { GRPC_TLS_CA: certs.ca })).toBe(43);
  });

  it('is UNAVAILABLE to a plaintext client', async () => {
    expect(await codeOf(orderWith(tls.port, {}))).toBe('UNAVAILABLE');
  });

  it('is UNAVAILABLE to a client that trusts another CA', async () => {
    expect(await codeOf(orderWith(tls.port, { GRPC_TLS_CA: strangers.ca }))).toBe('UNAVAILABLE');
  });

  it('checks the certificate for GRPC_TLS_SERVER_NAME instead of the address dialled', async () => {
    const viaName = { GRPC_TLS_CA: certs.ca, GRPC_TLS_SERVER_NAME: 'soccer-service' };
    expect(await orderWith(tls.port, viaName)).toBe(43);
    const wrongName = { GRPC_TLS_CA: certs.ca, GRPC_TLS_SERVER_NAME: 'cheese.example.com' };
    expect(await codeOf(orderWith(tls.port, wrongName))).toBe('UNAVAILABLE');
  });
});

describe('mutual TLS over loopback', () => {
  let mtls: { server: Server; port: number };

  beforeAll(async () => {
    mtls = await startServer(
      grpcServerCredentials({
        GRPC_TLS_CERT: certs.serverCert,
        GRPC_TLS_KEY: certs.serverKey,
        GRPC_TLS_CLIENT_CA: certs.ca,
      }),
    );
  });

  afterAll(() => mtls?.server.forceShutdown());

  it("serves a client presenting a certificate from GRPC_TLS_CLIENT_CA (the gateway's)", async () => {
    const gateway = {
      GRPC_TLS_CA: certs.ca,
      GRPC_TLS_CLIENT_CERT: certs.clientCert,
      GRPC_TLS_CLIENT_KEY: certs.clientKey,
    };
    expect(await orderWith(mtls.port, gateway)).toBe(43);
  });

  it('refuses a client without a certificate', async () => {
    expect(await codeOf(orderWith(mtls.port, { GRPC_TLS_CA: certs.ca }))).toBe('UNAVAILABLE');
  });

  it('refuses a client certificate from another CA', async () => {
    const stranger = {
      GRPC_TLS_CA: certs.ca,
      GRPC_TLS_CLIENT_CERT: strangers.clientCert,
      GRPC_TLS_CLIENT_KEY: strangers.clientKey,
    };
    expect(await codeOf(orderWith(mtls.port, stranger))).toBe('UNAVAILABLE');
  });
});

describe('grpcServerOptions / grpcClientOptions carry the security into Nest', () => {
  it('binds the server with the credentials of its hooks (GrpcOperations)', () => {
    const security = grpcServerCredentials({
      GRPC_TLS_CERT: certs.serverCert,
      GRPC_TLS_KEY: certs.serverKey,
    });
    const { options } = grpcServerOptions(
      'cheese',
      { url: '127.0.0.1:0', maxMessageBytes: 1024 * 1024 },
      { onLoadPackageDefinition: () => undefined, credentials: security },
    );
    expect(options.credentials).toBe(security);
  });

  it('dials with the credentials, the server name and the token, the token innermost', () => {
    const security = grpcClientSecurity({
      GRPC_TLS_CA: certs.ca,
      GRPC_TLS_SERVER_NAME: 'cheese-service',
      GRPC_AUTH_TOKEN: 'a-token-of-sixteen-plus',
    });
    const { options } = grpcClientOptions('cheese', {
      url: '127.0.0.1:4000',
      maxMessageBytes: 1024 * 1024,
      unaryDeadlineMs: 1000,
      security,
    });
    expect(options.credentials).toBe(security.credentials);
    const channelOptions = options.channelOptions as Record<string, unknown>;
    expect(channelOptions['grpc.ssl_target_name_override']).toBe('cheese-service');
    expect((channelOptions.interceptors as unknown[]).at(-1)).toBe(security.interceptors[0]);
  });

  it('stays plaintext without security', () => {
    const { options } = grpcClientOptions('cheese', {
      url: '127.0.0.1:4000',
      maxMessageBytes: 1024 * 1024,
      unaryDeadlineMs: 1000,
    });
    expect(options.credentials).toBeUndefined();
    expect(options.channelOptions).not.toHaveProperty('grpc.ssl_target_name_override');
  });
});
