import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devCertPaths, runCertsScript, type DevCerts } from '#launcher';

/** `npm run certs` (scripts/certs.mjs), run as a fresh clone runs it, into a CERTS_DIR of its own. */
describe('npm run certs', () => {
  let scratch: string;
  let certs: DevCerts;
  let output: string;
  const x509 = async (path: string) => new X509Certificate(await readFile(path));

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'certs-script-'));
    certs = devCertPaths(join(scratch, 'certs'));
    ({ stdout: output } = await runCertsScript(certs.dir));
  });

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('writes the CA, the server and the client certificates, keys readable by the owner only', async () => {
    for (const file of [certs.ca, certs.serverCert, certs.clientCert]) {
      expect((await stat(file)).isFile()).toBe(true);
    }
    for (const key of [certs.serverKey, certs.clientKey, join(certs.dir, 'ca-key.pem')]) {
      expect((await stat(key)).mode & 0o777).toBe(0o600);
      expect(createPrivateKey(await readFile(key)).asymmetricKeyType).toBe('ec');
    }
    expect(output).toContain(certs.dir);
  });

  it('makes a CA that signed both certificates', async () => {
    const ca = await x509(certs.ca);
    expect(ca.ca).toBe(true);
    for (const file of [certs.serverCert, certs.clientCert]) {
      const cert = await x509(file);
      expect(cert.ca).toBe(false);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
    }
  });

  it('names every way the services are reached in the server certificate', async () => {
    const server = await x509(certs.serverCert);
    const sans = server.subjectAltName!.split(', ');
    for (const san of [
      'DNS:localhost',
      'DNS:cheese-service',
      'DNS:soccer-service',
      'DNS:gateway',
      'IP Address:127.0.0.1',
    ]) {
      expect(sans).toContain(san);
    }
    expect(server.checkHost('cheese-service')).toBe('cheese-service');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    expect(server.checkPrivateKey(createPrivateKey(await readFile(certs.serverKey)))).toBe(true);
  });

  it('makes a client certificate for the gateway (clientAuth)', async () => {
    const client = await x509(certs.clientCert);
    expect(client.subject).toContain('CN=gateway');
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth
    expect(client.checkPrivateKey(createPrivateKey(await readFile(certs.clientKey)))).toBe(true);
  });

  it('keeps existing certificates when run again', async () => {
    const before = await readFile(certs.serverCert);
    const { stdout } = await runCertsScript(certs.dir);
    expect(stdout).toMatch(/already in .*; kept \(--force replaces them\)/);
    expect(await readFile(certs.serverCert)).toEqual(before);
  });

  it('refuses to complete a partial set without --force', async () => {
    const partial = devCertPaths(join(scratch, 'partial'));
    await runCertsScript(partial.dir);
    await unlink(partial.clientCert);
    const err = (await runCertsScript(partial.dir).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/holds only some of the certificates.*--force/);
  });

  it('replaces them with --force, with extra names from --san', async () => {
    const before = await readFile(certs.ca);
    await runCertsScript(certs.dir, ['--force', '--san', 'DNS:cheese.example.com']);
    expect(await readFile(certs.ca)).not.toEqual(before);
    const server = await x509(certs.serverCert);
    expect(server.subjectAltName).toContain('DNS:cheese.example.com');
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.checkIssued(await x509(certs.ca))).toBe(true);
  });
});
