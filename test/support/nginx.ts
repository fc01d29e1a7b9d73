import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptsConnections, freePort } from '#launcher';

/** Debian's nginx (package `nginx`, installed by .ci/run). */
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';

export interface NginxOptions {
  /** Ports of the gateways on 127.0.0.1, balanced round robin. */
  upstreams: number[];
  /**
   * The address nginx connects to the gateways from (`proxy_bind`), which
   * they trust as a proxy: another loopback address than the clients', so
   * that forwarded and direct clients can be told apart on one machine.
   */
  proxyAddress: string;
}

/**
 * Debian's nginx as the gateways' load balancer, as an Ingress controller
 * runs it: round robin, `X-Forwarded-For` appended, WebSocket upgrades
 * passed on, no response buffering (SSE, MJPEG), uploads streamed, long
 * streams never cut, and a request that failed on one gateway (connection
 * refused, reset, 502/503/504) tried on the other, POSTs included only for
 * orders (which change nothing: ordering twice is harmless). Every response
 * says which gateway answered (`X-Upstream`). Unprivileged-friendly: its own
 * prefix, temp dirs, pid and logs in a temp directory, on a free port, in
 * the foreground (no daemon).
 */
export class Nginx {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(options: NginxOptions): Promise<Nginx> {
    const dir = mkdtempSync(join(tmpdir(), 'nginx-lb-'));
    for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) {
      mkdirSync(join(dir, temp));
    }
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, options));
    const child = spawn(
      NGINX,
      ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs', 'error.log')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const nginx = new Nginx(port, dir, child);
    const deadline = Date.now() + 30_000;
    while (!(await acceptsConnections(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await nginx.stop();
        throw new Error(`nginx did not start on ${port}:\n${output}\n${nginx.errorLog}`);
      }
      await sleep(50);
    }
    return nginx;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What nginx logged: each request with the gateway(s) it went to, and its errors. */
  get accessLog(): string {
    return readText(join(this.dir, 'logs', 'access.log'));
  }

  get errorLog(): string {
    return readText(join(this.dir, 'logs', 'error.log'));
  }

  /** Stops it (fast shutdown) and removes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exit = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function nginxConf(dir: string, port: number, { upstreams, proxyAddress }: NginxOptions): string {
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n');
  // As root, nginx's workers would switch to `nobody`, who cannot use the temp dirs.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  return `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
${user}
error_log ${dir}/logs/error.log info;
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  log_format upstreams '$remote_addr "$request" $status via $upstream_addr ($upstream_status)';
  access_log ${dir}/logs/access.log upstreams;

  upstream gateways {
${servers}
  }
  # A WebSocket handshake keeps its Upgrade; other requests close the upstream connection.
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }

  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;

    proxy_http_version 1.1;
    proxy_bind ${proxyAddress};
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_buffering off;
    proxy_read_timeout 3600s;
    proxy_send_timeout 3600s;
    proxy_next_upstream error timeout http_502 http_503 http_504;
    add_header X-Upstream $upstream_addr always;

    location / {
      proxy_pass http://gateways;
    }
    # An order stores nothing: repeating it on the other gateway is harmless.
    location = /v1/cheese/orders {
      proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
      proxy_pass http://gateways;
    }
    # Uploads stream through (never retried: their body is not kept).
    location ~ ^/v1/matches/[^/]+/video$ {
      proxy_request_buffering off;
      proxy_pass http://gateways;
    }
  }
}
`;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
