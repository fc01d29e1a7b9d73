import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** scripts/certs.mjs, from src (libs/launcher/src) or from dist. */
const CERTS_SCRIPT = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/')
      ? '../../../../scripts/certs.mjs'
      : '../../../scripts/certs.mjs',
    import.meta.url,
  ),
);

/** The files `npm run certs` writes, as paths in its directory. */
export interface DevCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function devCertPaths(dir: string): DevCerts {
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client-key.pem'),
  };
}

/** Runs `npm run certs` (scripts/certs.mjs) into `dir` (CERTS_DIR), as the tests do; its output. */
export async function runCertsScript(
  dir: string,
  args: string[] = [],
): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [CERTS_SCRIPT, ...args], {
    env: { ...process.env, CERTS_DIR: dir },
    timeout: 60_000,
  });
}

/** A development CA and certificates in `dir`, made by the very script `npm run certs` runs. */
export async function generateDevCerts(dir: string): Promise<DevCerts> {
  await runCertsScript(dir);
  return devCertPaths(dir);
}

/** A service's environment for TLS with `certs`; `mutual`: client certificates from its CA required. */
export function serverTlsEnv(certs: DevCerts, { mutual = false } = {}): Record<string, string> {
  return {
    GRPC_TLS_CERT: certs.serverCert,
    GRPC_TLS_KEY: certs.serverKey,
    ...(mutual ? { GRPC_TLS_CLIENT_CA: certs.ca } : {}),
  };
}

/** The gateway's environment for dialling TLS services of `certs`, presenting its client certificate. */
export function clientTlsEnv(certs: DevCerts): Record<string, string> {
  return {
    GRPC_TLS_CA: certs.ca,
    GRPC_TLS_CLIENT_CERT: certs.clientCert,
    GRPC_TLS_CLIENT_KEY: certs.clientKey,
  };
}
