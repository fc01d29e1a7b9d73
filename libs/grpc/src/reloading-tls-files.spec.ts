import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDevCerts, type DevCerts } from '#launcher';
import { liveTlsFiles, ReloadingTlsFiles, reloadingTlsFiles } from './reloading-tls-files.js';
import { GrpcTlsConfigError, type TlsFiles } from './tls-files.js';

let scratch: string;
let before: DevCerts;
let after: DevCerts;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'reloading-tls-files-'));
  [before, after] = await Promise.all([
    generateDevCerts(join(scratch, 'before')),
    generateDevCerts(join(scratch, 'after')),
  ]);
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A live copy of `set`'s server certificate, key and CA, as variables name them. */
async function liveFiles(name: string, set: DevCerts): Promise<TlsFiles> {
  const dir = join(scratch, name);
  await mkdir(dir);
  const files = {
    cert: { variable: 'GRPC_TLS_CERT', path: join(dir, 'tls.crt') },
    key: { variable: 'GRPC_TLS_KEY', path: join(dir, 'tls.key') },
    ca: { variable: 'GRPC_TLS_CLIENT_CA', path: join(dir, 'ca.crt') },
  };
  await copyFile(set.serverCert, files.cert.path);
  await copyFile(set.serverKey, files.key.path);
  await copyFile(set.ca, files.ca.path);
  return files;
}

const notAfter = async (file: string) =>
  new Date(new X509Certificate(await readFile(file)).validTo);

describe('ReloadingTlsFiles', () => {
  it('reads and checks the files at once: a bad one throws, naming its variable', async () => {
    const files = await liveFiles('bad', before);
    await copyFile(before.clientKey, files.key!.path);
    expect(() => new ReloadingTlsFiles(files, { intervalMs: 0 })).toThrow(GrpcTlsConfigError);
    expect(() => new ReloadingTlsFiles(files, { intervalMs: 0 })).toThrow(
      /GRPC_TLS_KEY=\S+ is not the private key of GRPC_TLS_CERT/,
    );
  });

  it('takes a changed set only once it is whole; a half-replaced pair is reported once and skipped', async () => {
    const files = await liveFiles('half', before);
    const warnings: string[] = [];
    const logs: string[] = [];
    const tls = new ReloadingTlsFiles(files, {
      intervalMs: 0,
      log: { log: (m) => logs.push(m), warn: (m) => warnings.push(m) },
    });
    const identities: (Buffer | undefined)[] = [];
    const cas: (Buffer | undefined)[] = [];
    tls.onIdentity((update) => identities.push(update?.certificate));
    tls.addCaCertificateListener((update) => cas.push(update?.caCertificate));
    try {
      expect(await tls.reload()).toBe(false); // unchanged
      // Listeners get the set in use first, later (grpc-js adds its watcher after).
      expect(identities).toEqual([await readFile(before.serverCert)]);
      expect(cas).toEqual([await readFile(before.ca)]);

      await copyFile(after.serverCert, files.cert!.path);
      expect(await tls.reload()).toBe(false);
      expect(await tls.reload()).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^TLS files changed but not reloaded \(GRPC_TLS_CERT, GRPC_TLS_KEY, GRPC_TLS_CLIENT_CA\): GRPC_TLS_KEY=\S+ is not the private key of GRPC_TLS_CERT=\S+; the previous ones stay in use$/); // prettier-ignore
      expect(tls.current.identity?.certificate).toEqual(await readFile(before.serverCert));

      await copyFile(after.serverKey, files.key!.path);
      await copyFile(after.ca, files.ca!.path);
      expect(await tls.reload()).toBe(true);
      expect(identities.at(-1)).toEqual(await readFile(after.serverCert));
      expect(cas.at(-1)).toEqual(await readFile(after.ca));
      expect(tls.expiries()).toEqual([
        { certificate: 'GRPC_TLS_CERT', notAfter: await notAfter(after.serverCert) },
        { certificate: 'GRPC_TLS_CLIENT_CA', notAfter: await notAfter(after.ca) },
      ]);
      expect(logs).toEqual([expect.stringMatching(/^TLS files reloaded: GRPC_TLS_CERT until .*, GRPC_TLS_CLIENT_CA until /)]); // prettier-ignore
    } finally {
      tls.close();
    }
  }); // prettier-ignore

  it('re-reads by itself every intervalMs', async () => {
    const files = await liveFiles('timer', before);
    const tls = new ReloadingTlsFiles(files, { intervalMs: 50 });
    try {
      await copyFile(after.serverKey, files.key!.path);
      await copyFile(after.serverCert, files.cert!.path);
      const expected = await readFile(after.serverCert);
      const deadline = Date.now() + 20_000;
      while (!tls.current.identity?.certificate.equals(expected) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(tls.current.identity?.certificate).toEqual(expected);
    } finally {
      tls.close();
    }
  });

  it('is shared by whoever reads the same files, and closed ones are no longer listed', async () => {
    const files = await liveFiles('shared', before);
    const first = reloadingTlsFiles(files, { intervalMs: 0 });
    expect(reloadingTlsFiles({ ...files }, { intervalMs: 0 })).toBe(first);
    expect(liveTlsFiles()).toContain(first);
    first.close();
    expect(liveTlsFiles()).not.toContain(first);
  });
});
