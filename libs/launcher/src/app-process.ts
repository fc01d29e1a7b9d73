import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { APPS, hasMetricsPort, type AppName } from './apps.js';
import { InspectorSession, inspectorUrl } from './inspector.js';
import { portListener } from './port-listener.js';
import { OutputTail } from './output-tail.js';

/** The repository root, from src (libs/launcher/src) or from dist. */
const ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../../' : '../../../', import.meta.url),
);

export interface StartOptions {
  /** Environment added to this process's own. */
  env?: Record<string, string>;
  /** Port the app listens on; it is waited for. */
  port: number;
  /**
   * METRICS_PORT of a gRPC service (it listens there before its gRPC port).
   * Absent: 0, no metrics endpoint, so that any number of services can run
   * side by side, as the tests start them. The gateway serves /metrics on `port`.
   */
  metricsPort?: number;
  /** Give up waiting after this many ms (default 60 s: a loaded machine starts apps slowly). */
  readyTimeoutMs?: number;
  /** Where the app's output goes: 'inherit' for a terminal, else kept for errors. */
  stdio?: 'inherit' | 'pipe';
  /**
   * Run with the inspector on a free loopback port (`--inspect=127.0.0.1:0`),
   * so that `inspector()` can read the live heap. Only for measurements.
   */
  inspect?: boolean;
}

/** One app running as its own process, as in production. */
export class AppProcess {
  /** Enough to explain a failure and for tests to read (a line per RPC), never unbounded. */
  private readonly tail = new OutputTail(1024 * 1024);
  /** Settles once the process has exited and its output has been read to the end. */
  private readonly closed: Promise<void>;

  private constructor(
    readonly name: AppName,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => this.keep(d));
    child.stderr?.on('data', (d: Buffer) => this.keep(d));
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
  }

  /**
   * Starts `name` and resolves once it listens on its port: a listener of its
   * own, where Linux's /proc tells, not another process's on that port.
   */
  static async start(name: AppName, options: StartOptions): Promise<AppProcess> {
    const inspect = options.inspect ? ['--inspect=127.0.0.1:0'] : [];
    const child = spawn(process.execPath, [...APPS[name].nodeArgs, ...inspect, APPS[name].entry], {
      cwd: ROOT,
      env: {
        ...process.env,
        [APPS[name].portVar]: String(options.port),
        ...(hasMetricsPort(name) ? { METRICS_PORT: String(options.metricsPort ?? 0) } : {}),
        ...options.env,
      },
      stdio: options.stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(name, options.port, child);
    await app.waitUntilListening(options.readyTimeoutMs ?? 60_000);
    return app;
  }

  /** Everything the app printed (kept when started with stdio 'pipe'): JSON log lines. */
  get logs(): string {
    return this.output;
  }

  /** The text of each log line (its `msg`), one per line, for reading what the app said. */
  get logMessages(): string {
    return this.output.split('\n').map(logMessage).join('\n');
  }

  /** A DevTools Protocol session with the app (started with `inspect: true`). */
  async inspector(): Promise<InspectorSession> {
    const url = inspectorUrl(this.output);
    if (!url) throw new Error(`${this.name} was not started with inspect: true`);
    return InspectorSession.connect(url);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** How the process ended: "0", "1", "on SIGINT"...; undefined while it runs. */
  get exitStatus(): string | undefined {
    const { exitCode, signalCode } = this.child;
    if (exitCode !== null) return String(exitCode);
    return signalCode ? `on ${signalCode}` : undefined;
  }

  /**
   * Sends `signal`, waits for the exit (SIGKILL after `graceMs`) and says how
   * it ended. It resolves once the app's last words are in `logs`: 'exit' can
   * come before the pipes are read to the end.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<string> {
    if (!this.exited) {
      const exit = once(this.child, 'exit');
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    }
    await this.closed;
    return this.exitStatus!;
  }

  private keep(chunk: Buffer): void {
    this.tail.push(chunk);
  }

  private get output(): string {
    return this.tail.text;
  }

  private async waitUntilListening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let stranger = false;
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new Error(`${this.name} exited with ${this.child.exitCode}:\n${this.output}`);
      }
      const listener = await portListener(this.child.pid!, this.port);
      if (listener === 'own') return;
      // Another process's listener: the app will fail to bind, and exit.
      stranger = listener === 'stranger';
      await sleep(50);
    }
    await this.stop('SIGKILL');
    const who = stranger ? ', another process listens there' : '';
    throw new Error(
      `${this.name} did not listen on ${this.port} in ${timeoutMs} ms${who}:\n${this.output}`,
    );
  }
}

/** The message of one line of an app's output: a JSON log line's `msg`, else the line itself. */
export function logMessage(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { msg } = JSON.parse(line) as { msg?: unknown };
    return typeof msg === 'string' ? msg : line;
  } catch {
    return line; // a line cut at the start of the kept output
  }
}
