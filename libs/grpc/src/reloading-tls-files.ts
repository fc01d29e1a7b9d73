import { readFile } from 'node:fs/promises';
import type { experimental } from '@grpc/grpc-js';
import { checkTlsMaterial, readTlsMaterial, type TlsFiles, type TlsMaterial } from './tls-files.js';

type CertificateProvider = experimental.CertificateProvider;
type IdentityListener = experimental.IdentityCertificateUpdateListener;
type CaListener = experimental.CaCertificateUpdateListener;

/** Where reload events are told (the app's logger). */
export interface TlsReloadLog {
  log(message: string): void;
  warn(message: string): void;
}

/** Every ReloadingTlsFiles of the process, for the certificate metrics. */
const live = new Set<ReloadingTlsFiles>();

/** What happened to the files of the process so far. */
export const tlsReloadCounts = { reloaded: 0, rejected: 0 };

/**
 * TLS files that are re-read while the process runs, so a renewed
 * certificate (a Kubernetes Secret updated by cert-manager, files replaced by
 * hand) is used without a restart. It is a grpc-js `CertificateProvider`:
 * server and channel credentials built on it take each new set for the
 * connections made after it (open ones keep theirs); the gateway's HTTPS
 * listener listens the same way (`onIdentity`).
 *
 * Read and checked at once (a bad file stops the start, naming its
 * variable), then re-read every `intervalMs` (0: never). A changed set is
 * taken only when it passes the same checks: a half-replaced pair (the new
 * certificate beside the old key) or a broken file is reported and skipped,
 * and the last good set stays in use, where grpc-js's own
 * FileWatcherCertificateProvider would pass the bad files on and refuse
 * connections meanwhile.
 */
export class ReloadingTlsFiles implements CertificateProvider {
  private material: TlsMaterial;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private readonly timer?: NodeJS.Timeout;
  private reading?: Promise<boolean>;
  /** The contents last rejected, so that a bad set is reported once. */
  private rejected?: string;

  constructor(
    readonly files: TlsFiles,
    { intervalMs, log }: TlsReloadOptions,
  ) {
    this.material = readTlsMaterial(files);
    this.log = log;
    if (intervalMs > 0) {
      this.timer = setInterval(() => void this.reload(), intervalMs);
      this.timer.unref();
    }
    live.add(this);
  }

  private readonly log?: TlsReloadLog;

  /** The set in use. */
  get current(): TlsMaterial {
    return this.material;
  }

  /** Each file's variable and the earliest expiry of its certificates. */
  expiries(): { certificate: string; notAfter: Date }[] {
    const { cert, ca } = this.files;
    const { identity, ca: caMaterial } = this.material;
    return [
      ...(cert && identity ? [{ certificate: cert.variable, notAfter: identity.notAfter }] : []),
      ...(ca && caMaterial ? [{ certificate: ca.variable, notAfter: caMaterial.notAfter }] : []),
    ];
  }

  /**
   * Re-reads the files now (or joins the read running): resolves true when a
   * changed set passed the checks and is now in use.
   */
  reload(): Promise<boolean> {
    this.reading ??= this.readChanged().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Stops re-reading (tests; an app's files live as long as the process). */
  close(): void {
    clearInterval(this.timer);
    live.delete(this);
  }

  /** Calls `listener` with the certificate and key now and at each reload. */
  onIdentity(listener: IdentityListener): void {
    this.addIdentityCertificateListener(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    // Later, as grpc-js expects: it adds its own watcher only after this returns.
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identity()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => this.caListeners.has(listener) && listener(this.ca()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  private identity() {
    const { identity } = this.material;
    return identity ? { certificate: identity.certificate, privateKey: identity.privateKey } : null;
  }

  private ca() {
    const { ca } = this.material;
    return ca ? { caCertificate: ca.caCertificate } : null;
  }

  private async readChanged(): Promise<boolean> {
    const { cert, key, ca } = this.files;
    let pems: { cert?: Buffer; key?: Buffer; ca?: Buffer };
    try {
      const [certPem, keyPem, caPem] = await Promise.all(
        [cert, key, ca].map((file) => (file ? readFile(file.path) : Promise.resolve(undefined))),
      );
      pems = { cert: certPem, key: keyPem, ca: caPem };
    } catch (err) {
      return this.reject(
        `cannot read them (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        '',
      );
    }
    const { identity, ca: caMaterial } = this.material;
    const identityChanged =
      !!identity &&
      (!identity.certificate.equals(pems.cert!) || !identity.privateKey.equals(pems.key!));
    const caChanged = !!caMaterial && !caMaterial.caCertificate.equals(pems.ca!);
    if (!identityChanged && !caChanged) {
      this.rejected = undefined;
      return false;
    }
    let next: TlsMaterial;
    try {
      next = checkTlsMaterial(this.files, pems);
    } catch (err) {
      const signature = [pems.cert, pems.key, pems.ca].map((b) => b?.toString('base64')).join();
      return this.reject((err as Error).message, signature);
    }
    this.material = next;
    this.rejected = undefined;
    tlsReloadCounts.reloaded++;
    const expiries = this.expiries().map(({ certificate, notAfter }) => `${certificate} until ${notAfter.toISOString()}`); // prettier-ignore
    this.log?.log(`TLS files reloaded: ${expiries.join(', ')}; new connections use them`);
    if (identityChanged) for (const listener of this.identityListeners) listener(this.identity());
    if (caChanged) for (const listener of this.caListeners) listener(this.ca());
    return true;
  }

  private reject(reason: string, signature: string): false {
    if (this.rejected !== signature) {
      this.rejected = signature;
      tlsReloadCounts.rejected++;
      const { cert, key, ca } = this.files;
      const names = [cert, key, ca].flatMap((file) => (file ? [file.variable] : [])).join(', ');
      this.log?.warn(`TLS files changed but not reloaded (${names}): ${reason}; the previous ones stay in use`); // prettier-ignore
    }
    return false;
  }
}

/** Every ReloadingTlsFiles of this process (for `tls_certificate_expiry_timestamp_seconds`). */
export function liveTlsFiles(): readonly ReloadingTlsFiles[] {
  return [...live];
}

/** How TLS files are re-read: every `intervalMs` (0: never), told to `log`. */
export interface TlsReloadOptions {
  intervalMs: number;
  log?: TlsReloadLog;
}

/**
 * The ReloadingTlsFiles of `files`: the one this process already reads them
 * with (every client of the gateway shares its certificate), else a new one.
 */
export function reloadingTlsFiles(files: TlsFiles, options: TlsReloadOptions): ReloadingTlsFiles {
  const key = JSON.stringify(files);
  return (
    [...live].find((f) => JSON.stringify(f.files) === key) ?? new ReloadingTlsFiles(files, options)
  );
}
