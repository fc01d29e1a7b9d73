import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './free-port.js';
import { listensOn, portListener } from './port-listener.js';

const listen = async (host: string): Promise<{ server: Server; port: number }> => {
  const port = await freePort();
  const server = createServer().listen(port, host);
  await once(server, 'listening');
  return { server, port };
};

describe.runIf(process.platform === 'linux')('listensOn, from /proc', () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((server) => server.close()));

  it.each(['127.0.0.1', '0.0.0.0', '::'])('tells its own listener on %s', async (host) => {
    const { server, port } = await listen(host);
    servers.push(server);
    expect(listensOn(process.pid, port)).toBe(true);
    expect(listensOn(process.pid, port + 1)).toBe(false);
  });

  it("tells another process's listener from its own", async () => {
    const port = await freePort();
    const other = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`,
    ]);
    try {
      await once(other.stdout, 'data');
      expect(listensOn(other.pid!, port)).toBe(true);
      expect(listensOn(process.pid, port)).toBe(false);
      expect(await portListener(other.pid!, port)).toBe('own');
      expect(await portListener(process.pid, port)).toBe('stranger');
    } finally {
      other.kill();
    }
  });

  it('says false for a port nobody listens on, and for a process that has gone', async () => {
    const { server, port } = await listen('127.0.0.1');
    servers.push(server);
    const nobody = await freePort();
    expect(listensOn(process.pid, nobody)).toBe(false);
    expect(await portListener(process.pid, nobody)).toBe('none');
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    expect(listensOn(gone.pid!, port)).toBe(false);
  });
});
