// `npm run certs`: a development CA and the certificates the stack needs for
// gRPC over TLS and mutual TLS (docs/security.md), made with the system's
// `openssl` (no hand-rolled ASN.1). For development and tests only: use your
// own PKI (cert-manager, a corporate CA) anywhere else.
//
//   npm run certs                        # into ./certs, or $CERTS_DIR
//   npm run certs -- --force             # replace the certificates already there
//   npm run certs -- --san DNS:cheese.example --san IP:10.0.0.7   # more server names
//
// Files: ca.pem (give it to clients: the talk's cert.pem), ca-key.pem,
// server.pem + server-key.pem (every service; SANs below), client.pem +
// client-key.pem (the gateway's client certificate, EKU clientAuth).
// Private keys are written with mode 0600. Existing certificates are never
// replaced without --force.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** Names the services are reached by: loopback, and the compose/Kubernetes service names. */
const SERVER_SANS = [
  'DNS:localhost',
  'DNS:cheese-service',
  'DNS:soccer-service',
  'DNS:gateway',
  'IP:127.0.0.1',
  'IP:::1',
];
const CA_DAYS = 1825;
const LEAF_DAYS = 825;
const FILES = [
  'ca.pem',
  'ca-key.pem',
  'server.pem',
  'server-key.pem',
  'client.pem',
  'client-key.pem',
];
const KEY_FILES = new Set(['ca-key.pem', 'server-key.pem', 'client-key.pem']);

const { values } = parseArgs({
  options: {
    force: { type: 'boolean', default: false },
    san: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run certs [-- --force] [-- --san DNS:name|IP:address ...]');
  process.exit(0);
}
for (const san of values.san) {
  if (!/^(DNS:[A-Za-z0-9*.-]+|IP:[0-9A-Fa-f:.]+)$/.test(san)) {
    console.error(`--san ${san}: expected DNS:<name> or IP:<address>`);
    process.exit(2);
  }
}

const serverSans = [...new Set([...SERVER_SANS, ...values.san])];
const dir = resolve(process.env.CERTS_DIR || 'certs');
const present = FILES.filter((file) => existsSync(join(dir, file)));
if (present.length > 0 && !values.force) {
  if (present.length === FILES.length) {
    console.log(`Certificates already in ${dir}; kept (--force replaces them).`);
    process.exit(0);
  }
  console.error(
    `${dir} holds only some of the certificates (${present.join(', ')}); ` +
      'run with --force to make a new set.',
  );
  process.exit(1);
}

try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  console.error('openssl not found: install it (Debian: apt-get install openssl).');
  process.exit(1);
}

mkdirSync(dir, { recursive: true });
// Everything is made in a scratch directory beside the target, then moved in:
// a failure half way leaves the old set (or nothing), never a mix.
const work = mkdtempSync(join(dir, '.certs-'));
try {
  const at = (file) => join(work, file);
  const openssl = (...args) => execFileSync('openssl', args, { cwd: work, stdio: 'pipe' });
  const newKey = (file) => {
    // ECDSA P-256: quick to make, and every gRPC stack (grpc-js, grpcio's BoringSSL, Go) takes it.
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at(file));
    chmodSync(at(file), 0o600);
  };
  // A random 128-bit serial: certificates from two runs never share one.
  const serial = () => `0x${randomBytes(16).toString('hex').replace(/^./, '1')}`;

  newKey('ca-key.pem');
  writeFileSync(
    at('ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      'x509_extensions = ca',
      '[dn]',
      'CN = Cheese Farm & Soccer development CA',
      '[ca]',
      'basicConstraints = critical, CA:true, pathlen:0',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  openssl(
    'req', '-new', '-x509', '-config', at('ca.cnf'), '-key', at('ca-key.pem'),
    '-days', String(CA_DAYS), '-set_serial', serial(), '-out', at('ca.pem'),
  ); // prettier-ignore

  const issue = (name, commonName, extensions) => {
    newKey(`${name}-key.pem`);
    openssl(
      'req', '-new', '-key', at(`${name}-key.pem`), '-subj', `/CN=${commonName}`,
      '-out', at(`${name}.csr`),
    ); // prettier-ignore
    writeFileSync(
      at(`${name}.ext`),
      [
        'basicConstraints = critical, CA:false',
        'keyUsage = critical, digitalSignature',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        ...extensions,
        '',
      ].join('\n'),
    );
    openssl(
      'x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca-key.pem'),
      '-set_serial', serial(), '-days', String(LEAF_DAYS), '-sha256',
      '-extfile', at(`${name}.ext`), '-out', at(`${name}.pem`),
    ); // prettier-ignore
  };
  issue('server', 'cheese-farm-soccer services', [
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${serverSans.join(', ')}`,
  ]);
  issue('client', 'gateway', ['extendedKeyUsage = clientAuth', 'subjectAltName = DNS:gateway']);

  for (const file of FILES) renameSync(at(file), join(dir, file));
  for (const file of KEY_FILES) chmodSync(join(dir, file), 0o600);
} catch (err) {
  const stderr = err?.stderr?.toString().trim();
  console.error(`Could not make the certificates: ${stderr || err?.message || err}`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (!process.exitCode) {
  console.log(
    [
      `Development CA and certificates in ${dir} (${LEAF_DAYS} days):`,
      `  ca.pem                       the CA: GRPC_TLS_CA (gateway), GRPC_TLS_CLIENT_CA (mTLS), the talk's cert.pem`,
      `  server.pem, server-key.pem   GRPC_TLS_CERT, GRPC_TLS_KEY (services); ${serverSans.join(', ')}`,
      `  client.pem, client-key.pem   GRPC_TLS_CLIENT_CERT, GRPC_TLS_CLIENT_KEY (gateway, mTLS)`,
      '  ca-key.pem                   signs them; keep it out of every image and repository',
    ].join('\n'),
  );
}
