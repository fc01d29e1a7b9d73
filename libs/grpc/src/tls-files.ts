import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigurationError } from '#config';

/** Thrown when a configured certificate or key cannot be used. */
export class GrpcTlsConfigError extends ConfigurationError {
  override name = 'GrpcTlsConfigError';
}

/** A PEM file, and the variable that names it (for messages). */
export interface PemFile {
  variable: string;
  path: string;
}

/**
 * The TLS files of one side of a link: a certificate with its key (what it
 * presents), and/or a CA (what it verifies the other side against).
 */
export interface TlsFiles {
  cert?: PemFile;
  key?: PemFile;
  ca?: PemFile;
}

/** What TlsFiles hold once read and checked. */
export interface TlsMaterial {
  /** The certificate (chain) and its key, when TlsFiles has a certificate. */
  identity?: { certificate: Buffer; privateKey: Buffer; notAfter: Date };
  /** The CA certificate(s), when TlsFiles has a CA. */
  ca?: { caCertificate: Buffer; notAfter: Date };
}

function readPemFile({ variable, path }: PemFile): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GrpcTlsConfigError(
      `${variable}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}

/**
 * The certificates of a PEM file (a chain or a CA bundle), checked to parse.
 * The first is the one a key belongs to; the earliest expiry is the file's.
 */
function parseCertificates({ variable, path }: PemFile, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []; // prettier-ignore
  try {
    if (blocks.length === 0) throw new Error('no certificate');
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    throw new GrpcTlsConfigError(`${variable}=${path}: not a PEM certificate`);
  }
}

/** A PEM private key. Its contents never reach an error message. */
function parsePrivateKey({ variable, path }: PemFile, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new GrpcTlsConfigError(
      `${variable}=${path}: not an unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1)`,
    );
  }
}

const earliestExpiry = (certificates: X509Certificate[]) =>
  new Date(Math.min(...certificates.map((c) => new Date(c.validTo).getTime())));

/**
 * Checks the contents of TlsFiles (as read now, or re-read): each certificate
 * parses, the key is the certificate's (TLS would fail at the handshake
 * otherwise). Throws GrpcTlsConfigError naming the variable.
 */
export function checkTlsMaterial(
  files: TlsFiles,
  pems: { cert?: Buffer; key?: Buffer; ca?: Buffer },
): TlsMaterial {
  const material: TlsMaterial = {};
  if (files.cert && files.key && pems.cert && pems.key) {
    const chain = parseCertificates(files.cert, pems.cert);
    const key = parsePrivateKey(files.key, pems.key);
    if (!chain[0].checkPrivateKey(key)) {
      throw new GrpcTlsConfigError(
        `${files.key.variable}=${files.key.path} is not the private key of ${files.cert.variable}=${files.cert.path}`,
      );
    }
    material.identity = {
      certificate: pems.cert,
      privateKey: pems.key,
      notAfter: earliestExpiry(chain),
    };
  }
  if (files.ca && pems.ca) {
    material.ca = {
      caCertificate: pems.ca,
      notAfter: earliestExpiry(parseCertificates(files.ca, pems.ca)),
    };
  }
  return material;
}

/** Reads and checks TlsFiles now (start-up): a bad file throws GrpcTlsConfigError. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  return checkTlsMaterial(files, {
    cert: files.cert && readPemFile(files.cert),
    key: files.key && readPemFile(files.key),
    ca: files.ca && readPemFile(files.ca),
  });
}

/** A certificate and its key, read and checked to belong together (grpc-js's KeyCertPair). */
export function readKeyPair(
  certVariable: string,
  certPath: string,
  keyVariable: string,
  keyPath: string,
) {
  const { identity } = readTlsMaterial({
    cert: { variable: certVariable, path: certPath },
    key: { variable: keyVariable, path: keyPath },
  });
  return { cert_chain: identity!.certificate, private_key: identity!.privateKey };
}

/** A CA file, read and checked to hold certificates. */
export function readCaCertificate(variable: string, path: string): Buffer {
  return readTlsMaterial({ ca: { variable, path } }).ca!.caCertificate;
}
