import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** /proc/net/tcp's state of a listening socket. */
const LISTEN = '0A';

/**
 * Whether process `pid` holds a socket listening on TCP `port`, read from
 * Linux's /proc; undefined where /proc cannot tell (another OS). A port that
 * accepts connections may be another process's: then the app failed to bind
 * it, and its clients would talk to a stranger.
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
