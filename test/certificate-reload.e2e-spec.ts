/**
 * Certificates renewed while the apps run (a Kubernetes Secret updated by
 * cert-manager): the files are replaced, and the next connection sees the new
 * certificate, with no restart. Broken or half-replaced files are refused and
 * the previous certificate stays in use.
 */
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, freePort, generateDevCerts, type DevCerts } from '#launcher';
import { cheesefarm } from '#proto';
import { createGrpcClient, grpcChannelCredentials } from '#grpc';
import { orderCheese } from '../apps/cheese-service/test/support/order-cheese.js';

const RELOAD = { TLS_RELOAD_INTERVAL_MS: '200' };

let scratch: string;
/** Two unrelated sets, each with its own CA: the old one and its renewal. */
let before: DevCerts;
let after: DevCerts;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'certificate-reload-'));
  [before, after] = await Promise.all([
    generateDevCerts(join(scratch, 'before')),
    generateDevCerts(join(scratch, 'after')),
  ]);
}, 120_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const fingerprint = async (certFile: string) =>
  new X509Certificate(await readFile(certFile)).fingerprint256;

/** The fingerprint of the certificate a new TLS connection to `port` is shown. */
function servedFingerprint(port: number, alpn: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ALPNProtocols: [alpn],
      rejectUnauthorized: false, // both sets are checked by what is served, not by trust
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      socket.destroy();
      if (peer) resolve(peer.fingerprint256);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

/** Calls `probe` until `done` says yes or 60 s have passed; its last answer. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await sleep(100);
    value = await probe();
  }
  return value;
}

/** Polls new connections until they are shown `expected`; what the last one was shown. */
const servedBecomes = (port: number, alpn: string, expected: string) =>
  until(
    () => servedFingerprint(port, alpn),
    (seen) => seen === expected,
  );

/** Copies a set's certificate, then its key (not atomic: a reader may see the pair half-replaced). */
async function replacePair(from: { cert: string; key: string }, to: { cert: string; key: string }) {
  await copyFile(from.cert, to.cert);
  await copyFile(from.key, to.key);
}

async function waitForLog(app: AppProcess, pattern: RegExp): Promise<void> {
  await until(
    () => Promise.resolve(app.logMessages),
    (logs) => pattern.test(logs),
  );
  expect(app.logMessages).toMatch(pattern);
}

/** One Order over TLS trusting `ca`, on a new channel: the cheese type, or the error. */
async function order(port: number, ca: string): Promise<number> {
  const client = createGrpcClient(
    'cheese',
    `localhost:${port}`,
    grpcChannelCredentials({ GRPC_TLS_CA: ca }),
  );
  try {
    return (await orderCheese(client, cheesefarm.CheeseType.BRIE)).type;
  } finally {
    client.close();
  }
}

describe('cheese-service: its gRPC server certificate renewed', () => {
  let live: string;
  let port: number;
  let cheese: AppProcess;
  const files = () => ({ cert: join(live, 'server.pem'), key: join(live, 'server-key.pem') });

  beforeAll(async () => {
    live = join(scratch, 'cheese-live');
    await mkdir(live);
    await replacePair({ cert: before.serverCert, key: before.serverKey }, files());
    port = await freePort();
    cheese = await AppProcess.start('cheese-service', {
      port,
      env: { CHEESE_GRPC_HOST: '127.0.0.1', GRPC_TLS_CERT: files().cert, GRPC_TLS_KEY: files().key, ...RELOAD }, // prettier-ignore
    });
  }, 120_000);

  afterAll(async () => {
    await cheese?.stop();
  });

  it('serves the certificate it started with', async () => {
    expect(await servedFingerprint(port, 'h2')).toBe(await fingerprint(before.serverCert));
    expect(await order(port, before.ca)).toBe(cheesefarm.CheeseType.BRIE);
  });

  it('refuses a broken replacement and keeps serving the old certificate', async () => {
    await writeFile(files().cert, 'not a certificate\n');
    await waitForLog(cheese, /TLS files changed but not reloaded \(GRPC_TLS_CERT, GRPC_TLS_KEY\): GRPC_TLS_CERT=\S+ not a PEM certificate/); // prettier-ignore
    expect(await servedFingerprint(port, 'h2')).toBe(await fingerprint(before.serverCert));
    expect(await order(port, before.ca)).toBe(cheesefarm.CheeseType.BRIE);
  }, 90_000);

  it('a new connection sees the renewed certificate, with no restart', async () => {
    await replacePair({ cert: after.serverCert, key: after.serverKey }, files());
    const renewed = await fingerprint(after.serverCert);
    expect(await servedBecomes(port, 'h2', renewed)).toBe(renewed);
    expect(await order(port, after.ca)).toBe(cheesefarm.CheeseType.BRIE);
    await expect(order(port, before.ca)).rejects.toThrow(/UNAVAILABLE/);
    expect(cheese.exited).toBe(false);
    expect(cheese.logMessages).toMatch(/TLS files reloaded: GRPC_TLS_CERT until \S+; new connections use them/); // prettier-ignore
  }, 90_000);
});

describe('gateway: its HTTPS certificate, and its gRPC client certificate and CA, renewed', () => {
  let gatewayLive: string;
  let cheeseLive: string;
  let cheesePort: number;
  let httpsPort: number;
  let cheese: AppProcess | undefined;
  let gateway: AppProcess;

  /** The cheese-service files, as its own Secret would mount them. */
  const cheeseFiles = () => ({
    GRPC_TLS_CERT: join(cheeseLive, 'server.pem'),
    GRPC_TLS_KEY: join(cheeseLive, 'server-key.pem'),
    GRPC_TLS_CLIENT_CA: join(cheeseLive, 'ca.pem'),
  });
  const gatewayFiles = () => ({
    GRPC_TLS_CA: join(gatewayLive, 'ca.pem'),
    GRPC_TLS_CLIENT_CERT: join(gatewayLive, 'client.pem'),
    GRPC_TLS_CLIENT_KEY: join(gatewayLive, 'client-key.pem'),
    GATEWAY_TLS_CERT: join(gatewayLive, 'https.pem'),
    GATEWAY_TLS_KEY: join(gatewayLive, 'https-key.pem'),
  });
  const install = async (set: DevCerts) => {
    const g = gatewayFiles();
    const c = cheeseFiles();
    await Promise.all([
      copyFile(set.ca, g.GRPC_TLS_CA),
      replacePair({ cert: set.clientCert, key: set.clientKey }, { cert: g.GRPC_TLS_CLIENT_CERT, key: g.GRPC_TLS_CLIENT_KEY }), // prettier-ignore
      replacePair({ cert: set.serverCert, key: set.serverKey }, { cert: g.GATEWAY_TLS_CERT, key: g.GATEWAY_TLS_KEY }), // prettier-ignore
      copyFile(set.ca, c.GRPC_TLS_CLIENT_CA),
      replacePair({ cert: set.serverCert, key: set.serverKey }, { cert: c.GRPC_TLS_CERT, key: c.GRPC_TLS_KEY }), // prettier-ignore
    ]);
  };
  const startCheese = async () => {
    cheese = await AppProcess.start('cheese-service', {
      port: cheesePort,
      env: { CHEESE_GRPC_HOST: '127.0.0.1', ...cheeseFiles(), ...RELOAD },
    });
  };

  /** POST /v1/cheese/orders over HTTPS, trusting `ca`: the status. */
  const httpsOrder = (ca: string) =>
    readFile(ca).then(
      (caPem) =>
        new Promise<number>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: httpsPort,
              servername: 'localhost',
              path: '/v1/cheese/orders',
              method: 'POST',
              ca: caPem,
              agent: false,
              headers: { 'content-type': 'application/json' },
            },
            (res) => {
              res.resume();
              res.once('end', () => resolve(res.statusCode!));
            },
          );
          req.once('error', reject);
          req.end('{"type":"BRIE"}');
        }),
    );

  const metrics = () => httpsGet('/metrics');
  const httpsGet = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: httpsPort, path, rejectUnauthorized: false, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (t: string) => (body += t));
          res.once('end', () => resolve(body));
        },
      );
      req.once('error', reject);
      req.end();
    });

  beforeAll(async () => {
    gatewayLive = join(scratch, 'gateway-live');
    cheeseLive = join(scratch, 'gateway-cheese-live');
    await Promise.all([mkdir(gatewayLive), mkdir(cheeseLive)]);
    await install(before);
    [cheesePort, httpsPort] = await Promise.all([freePort(), freePort()]);
    await startCheese();
    gateway = await AppProcess.start('gateway', {
      port: httpsPort,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        CHEESE_GRPC_URL: `localhost:${cheesePort}`,
        SOCCER_GRPC_URL: `localhost:${await freePort()}`,
        ...gatewayFiles(),
        ...RELOAD,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await cheese?.stop();
  });

  it('serves HTTPS with its certificate and orders over mutual TLS', async () => {
    expect(await servedFingerprint(httpsPort, 'http/1.1')).toBe(await fingerprint(before.serverCert));
    expect(await httpsOrder(before.ca)).toBe(200);
  }); // prettier-ignore

  it('a new connection sees the renewed HTTPS certificate; new gRPC connections present the renewed client certificate and trust the new CA', async () => {
    // A new CA everywhere: cheese-service is restarted on its files (its own
    // reload is tested above); the gateway is not, it must re-read its own.
    await cheese!.stop();
    await install(after);
    await startCheese();
    const renewed = await fingerprint(after.serverCert);
    expect(await servedBecomes(httpsPort, 'http/1.1', renewed)).toBe(renewed);
    // The gateway's channel reconnects within its back-off (at most 5 s).
    expect(await until(() => httpsOrder(after.ca), (status) => status === 200)).toBe(200);
    expect(gateway.exited).toBe(false);

    // The expiry in use, as Prometheus sees it, is the renewed CA's.
    const caExpiry = new Date(new X509Certificate(await readFile(after.ca)).validTo).getTime() / 1000;
    const text = await metrics();
    expect(text).toContain(`tls_certificate_expiry_timestamp_seconds{certificate="GRPC_TLS_CA"} ${caExpiry}`);
    expect(text).toMatch(/^tls_certificate_reloads_total\{result="reloaded"\} [1-9]/m);
  }, 90_000); // prettier-ignore
});
