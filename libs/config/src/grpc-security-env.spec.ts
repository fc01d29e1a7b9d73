import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GrpcEnv } from './grpc-env.js';
import { InvalidEnvironmentError, validateEnv } from './validate-env.js';

// Validation only checks that the files are there and readable; whether they
// hold usable PEM is grpc-credentials.spec.ts's part.
const dir = mkdtempSync(join(tmpdir(), 'grpc-security-env-'));
const file = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, 'pem');
  return path;
};
const cert = file('server.pem');
const key = file('server-key.pem');
const ca = file('ca.pem');
const clientCert = file('client.pem');
const clientKey = file('client-key.pem');
const aDirectory = join(dir, 'certs-dir');
mkdirSync(aDirectory);

const validate = validateEnv(GrpcEnv);
const TOKEN = 'k3y-0f-the-cheese-farm-2b8e1f0c';

function errorOf(env: Record<string, string>): string {
  try {
    validate(env);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEnvironmentError);
    return (err as Error).message;
  }
  throw new Error('expected the environment to be refused');
}

describe('GrpcEnv transport security (GrpcSecurityEnv)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is all off by default: plaintext, no token', () => {
    const env = validate({});
    for (const name of [
      'GRPC_TLS_CERT',
      'GRPC_TLS_KEY',
      'GRPC_TLS_CLIENT_CA',
      'GRPC_TLS_CA',
      'GRPC_TLS_CLIENT_CERT',
      'GRPC_TLS_CLIENT_KEY',
      'GRPC_TLS_SERVER_NAME',
      'GRPC_AUTH_TOKEN',
    ] as const) {
      expect(env[name]).toBeUndefined();
    }
  });

  it('takes a whole stack: server TLS with client CA, client TLS with a certificate, a token', () => {
    const env = validate({
      GRPC_TLS_CERT: cert,
      GRPC_TLS_KEY: key,
      GRPC_TLS_CLIENT_CA: ca,
      GRPC_TLS_CA: ca,
      GRPC_TLS_CLIENT_CERT: clientCert,
      GRPC_TLS_CLIENT_KEY: clientKey,
      GRPC_TLS_SERVER_NAME: 'cheese-service',
      GRPC_AUTH_TOKEN: TOKEN,
    });
    expect(env).toMatchObject({ GRPC_TLS_CERT: cert, GRPC_AUTH_TOKEN: TOKEN });
  });

  it('reads an empty value (VAR= in a compose file) as unset', () => {
    const env = validate({ GRPC_TLS_CERT: '', GRPC_TLS_KEY: ' ', GRPC_AUTH_TOKEN: '' });
    expect(env.GRPC_TLS_CERT).toBeUndefined();
    expect(env.GRPC_TLS_KEY).toBeUndefined();
    expect(env.GRPC_AUTH_TOKEN).toBeUndefined();
  });

  it.each([
    ['GRPC_TLS_CERT', { GRPC_TLS_CERT: join(dir, 'missing.pem'), GRPC_TLS_KEY: key }, /not found/],
    ['GRPC_TLS_KEY', { GRPC_TLS_CERT: cert, GRPC_TLS_KEY: join(dir, 'nope.pem') }, /not found/],
    ['GRPC_TLS_CLIENT_CA', { ...{ GRPC_TLS_CERT: cert, GRPC_TLS_KEY: key }, GRPC_TLS_CLIENT_CA: aDirectory }, /not a regular file/],
    ['GRPC_TLS_CA', { GRPC_TLS_CA: join(dir, 'gone', 'ca.pem') }, /not found/],
  ])('refuses a %s that is not a readable file, naming it', (name, env, reason) => {
    const message = errorOf(env);
    expect(message).toMatch(new RegExp(`${name}=`));
    expect(message).toMatch(reason);
  }); // prettier-ignore

  it.each([
    [{ GRPC_TLS_KEY: key }, 'GRPC_TLS_KEY', 'GRPC_TLS_CERT'],
    [{ GRPC_TLS_CERT: cert }, 'GRPC_TLS_CERT', 'GRPC_TLS_KEY'],
    [{ GRPC_TLS_CLIENT_CA: ca }, 'GRPC_TLS_CLIENT_CA', 'GRPC_TLS_CERT and GRPC_TLS_KEY'],
    [{ GRPC_TLS_CLIENT_CERT: clientCert, GRPC_TLS_CA: ca }, 'GRPC_TLS_CLIENT_CERT', 'GRPC_TLS_CLIENT_KEY'],
    [{ GRPC_TLS_CLIENT_KEY: clientKey, GRPC_TLS_CA: ca }, 'GRPC_TLS_CLIENT_KEY', 'GRPC_TLS_CLIENT_CERT'],
    [{ GRPC_TLS_CLIENT_CERT: clientCert, GRPC_TLS_CLIENT_KEY: clientKey }, 'GRPC_TLS_CLIENT_CERT', 'GRPC_TLS_CA'],
    [{ GRPC_TLS_SERVER_NAME: 'cheese-service' }, 'GRPC_TLS_SERVER_NAME', 'GRPC_TLS_CA'],
  ])('refuses %j: %s needs %s', (env, name, needed) => {
    expect(errorOf(env)).toMatch(new RegExp(`${name}=.*needs ${needed} set as well`));
  }); // prettier-ignore

  it('refuses a server name that is not a DNS name', () => {
    expect(errorOf({ GRPC_TLS_CA: ca, GRPC_TLS_SERVER_NAME: 'cheese service' })).toMatch(
      /GRPC_TLS_SERVER_NAME="cheese service": must be a DNS name/,
    );
  });

  it.each([
    ['too short', 'short-token', /at least 16 characters/],
    ['with a space', 'a token with spaces in it', /printable ASCII without spaces/],
    ['with a newline', `${TOKEN}\nx-injected: 1`, /printable ASCII without spaces/],
  ])('refuses a token %s without ever showing it', (_case, token, reason) => {
    const message = errorOf({ GRPC_AUTH_TOKEN: token });
    expect(message).toMatch(/GRPC_AUTH_TOKEN=\(secret, not shown\)/);
    expect(message).toMatch(reason);
    expect(message).not.toContain(token);
    expect(message).not.toContain(token.slice(0, 5));
  });
});
