import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '#launcher';

/** Debian's redis-server (package `redis-server`, installed by .ci/run). */
const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/**
 * A real redis-server for a test, on a free loopback port, keeping nothing on
 * disk. It can be stopped and started again on the same port, as a Redis
 * that restarts.
 */
export class RedisServer {
  private child?: ChildProcess;
  private output = '';

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it (again) on its port and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.running) return;
    this.output = '';
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server exited:\n${this.output}`);
      if (await answersPing(this.port)) return;
      await sleep(20);
    }
    await this.stop('SIGKILL');
    throw new Error(`redis-server did not answer on ${this.port}:\n${this.output}`);
  }

  /** Stops it with `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exit = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
  }
}

/** Whether a Redis on 127.0.0.1:`port` answers an inline PING with +PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) socket.end();
    });
    socket.once('error', () => undefined);
    socket.once('close', () => resolve(reply.startsWith('+PONG')));
  });
}
