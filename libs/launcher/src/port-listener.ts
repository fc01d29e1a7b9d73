import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';

/** /proc/net/tcp's state of a listening socket. */
const LISTEN = '0A';

/**
 * Who listens on 127.0.0.1:`port`: process `pid` ('own', also where /proc
 * cannot tell), another process ('stranger': `pid` failed to bind it, and its
 * clients would talk to the wrong process), or nobody ('none').
 */
export async function portListener(
  pid: number,
  port: number,
): Promise<'own' | 'stranger' | 'none'> {
  if (!(await acceptsConnections(port))) return 'none';
  return listensOn(pid, port) === false ? 'stranger' : 'own';
}

/** Whether a TCP connection to `host`:`port` is accepted within 5 s. */
export function acceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Whether process `pid` holds a socket listening on TCP `port`, read from
 * Linux's /proc; undefined where /proc cannot tell (another OS).
 */
export function listensOn(pid: number, port: number): boolean | undefined {
  let listeners: Set<string>;
  try {
    listeners = listeningSockets(port);
  } catch {
    return undefined;
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // gone
  }
  return fds.some((fd) => {
    try {
      // socket:[INODE]
      return listeners.has(readlinkSync(`/proc/${pid}/fd/${fd}`).slice(8, -1));
    } catch {
      return false; // closed meanwhile
    }
  });
}

/** The inodes of the sockets listening on `port`, any address, IPv4 or IPv6. */
function listeningSockets(port: number): Set<string> {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  // No tcp6 table where IPv6 is off; no tcp table either: not Linux (throws).
  const tables = ['/proc/net/tcp', '/proc/net/tcp6'].filter((t, i) => i === 0 || existsSync(t));
  for (const table of tables) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(hexPort) && fields[3] === LISTEN) inodes.add(fields[9]);
    }
  }
  return inodes;
}
