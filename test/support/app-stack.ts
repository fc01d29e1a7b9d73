/*
 * The apps as the e2e tests run them: the services on free loopback ports, each
 * with its own metrics port, and a gateway in front of them, over plain HTTP or
 * over HTTPS (HTTP/2 and HTTP/1.1) with a development CA made for the stack.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, freePort, generateDevCerts, type DevCerts } from '#launcher';
import { serviceMetricsUrl } from './metrics.js';

type Env = Record<string, string>;

export interface AppStackOptions {
  /** Env of a cheese-service to start. Absent: none, and the gateway's CHEESE_GRPC_URL leads nowhere. */
  cheese?: Env;
  /** Env of a soccer-service to start (MEDIA_DIR: the stack's `media`). Absent: none. */
  soccer?: Env;
  /** Env of the gateway, over what the stack sets. */
  gateway?: Env;
  /** Serve HTTPS with a development CA made for this stack. */
  tls?: boolean;
  /** Given to every AppProcess.start. */
  readyTimeoutMs?: number;
}

/** A running gateway and the services behind it, in a temporary directory of their own. */
export class AppStack {
  cheese?: AppProcess;
  soccer?: AppProcess;
  gateway?: AppProcess;
  /** The gateway's port, and its origin: `http(s)://127.0.0.1:<port>`. */
  port = 0;
  origin = '';
  /** The services' /metrics URLs (empty when not started). */
  cheeseMetrics = '';
  soccerMetrics = '';
  /** With `tls`: the development certificates, and the CA that signed the gateway's. */
  certs?: DevCerts;
  ca?: Buffer;
  /** soccer-service's MEDIA_DIR. */
  readonly media: string;

  private constructor(readonly work: string) {
    this.media = join(work, 'media');
    mkdirSync(this.media);
  }

  static async start(options: AppStackOptions): Promise<AppStack> {
    const stack = new AppStack(mkdtempSync(join(tmpdir(), 'app-stack-')));
    try {
      await stack.startAll(options);
      return stack;
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }

  /** Stops the gateway, then the services, and removes the stack's directory. */
  async stop(): Promise<void> {
    await this.gateway?.stop();
    await Promise.all([this.soccer?.stop(), this.cheese?.stop()]);
    rmSync(this.work, { recursive: true, force: true });
  }

  private async startAll(options: AppStackOptions): Promise<void> {
    const readyTimeoutMs = options.readyTimeoutMs;
    const [cheesePort, cheeseMetricsPort, soccerPort, soccerMetricsPort, port] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    if (options.tls) {
      this.certs = await generateDevCerts(join(this.work, 'certs'));
      this.ca = readFileSync(this.certs.ca);
    }
    // Both settle before going on, so that stop() finds whatever did start.
    const started = await Promise.allSettled([
      options.cheese &&
        AppProcess.start('cheese-service', {
          port: cheesePort,
          metricsPort: cheeseMetricsPort,
          readyTimeoutMs,
          env: { CHEESE_GRPC_HOST: '127.0.0.1', ...options.cheese },
        }).then((app) => {
          this.cheese = app;
          this.cheeseMetrics = serviceMetricsUrl(cheeseMetricsPort);
        }),
      options.soccer &&
        AppProcess.start('soccer-service', {
          port: soccerPort,
          metricsPort: soccerMetricsPort,
          readyTimeoutMs,
          env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: this.media, ...options.soccer },
        }).then((app) => {
          this.soccer = app;
          this.soccerMetrics = serviceMetricsUrl(soccerMetricsPort);
        }),
    ]);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    this.gateway = await AppProcess.start('gateway', {
      port,
      readyTimeoutMs,
      env: {
        GATEWAY_HTTP_HOST: '127.0.0.1',
        // Port 1: nothing listens there, so calls to a service not started fail at once.
        CHEESE_GRPC_URL: `127.0.0.1:${this.cheese ? cheesePort : 1}`,
        SOCCER_GRPC_URL: `127.0.0.1:${this.soccer ? soccerPort : 1}`,
        ...(this.certs && {
          GATEWAY_TLS_CERT: this.certs.serverCert,
          GATEWAY_TLS_KEY: this.certs.serverKey,
        }),
        ...options.gateway,
      },
    });
    this.port = port;
    this.origin = `${this.certs ? 'https' : 'http'}://127.0.0.1:${port}`;
  }
}
