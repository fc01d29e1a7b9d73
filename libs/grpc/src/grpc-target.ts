import { isIP } from 'node:net';

/** Schemes grpc-js resolves itself: a target that starts with one is used as it is. */
const TARGET_SCHEMES = new Set(['dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract']);

/** What a backend address may be, for error messages. */
export const GRPC_TARGET_FORMS =
  'host:port, a comma-separated list of IP:port, or a gRPC target URI ' +
  '(dns:///name:port, ipv4:a:p,b:p, ipv6:[a]:p,[b]:p, unix:path)';

/** A backend address that is none of GRPC_TARGET_FORMS. */
export class GrpcTargetError extends Error {
  override name = 'GrpcTargetError';
}

interface HostPort {
  host: string;
  port: number;
  /** 4 or 6 for an IP literal, 0 for a name. */
  family: number;
}

/** `host:port` or `[ipv6]:port`; null when it is neither. */
function parseHostPort(text: string): HostPort | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(text);
  if (!match) return null;
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  const family = isIP(host);
  // Brackets are for IPv6 only, and an IPv6 address needs them.
  if ((match[1] !== undefined) !== (family === 6)) return null;
  return { host, port, family };
}

/**
 * The grpc-js channel target for a backend address as configured:
 *
 * - `host:port` (one name or IP): as is; grpc-js resolves a name through DNS
 *   and, with round_robin, balances over every address the name has;
 * - `10.0.0.1:4000,10.0.0.2:4000`: a static list, as grpc-js's `ipv4:` (or
 *   `ipv6:`) target. Only IP literals of one family: grpc-js resolves one name
 *   per target, so several names need one DNS name with several addresses;
 * - a URI with a scheme grpc-js resolves (`dns:///cheese-headless:4000`,
 *   `ipv4:…`, `unix:…`): as is.
 *
 * Throws GrpcTargetError saying what is wrong otherwise.
 */
export function grpcTarget(address: string): string {
  const text = address.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1].toLowerCase();
  // `localhost:4000` has the shape of a URI too; only known schemes count.
  if (scheme && TARGET_SCHEMES.has(scheme)) return text;
  if (!text.includes(',')) {
    if (!parseHostPort(text)) throw new GrpcTargetError(`must be ${GRPC_TARGET_FORMS}`);
    return text;
  }
  const entries = text.split(',').map((entry) => entry.trim());
  const parsed = entries.map((entry) => ({ entry, hostPort: parseHostPort(entry) }));
  const bad = parsed.find(({ hostPort }) => !hostPort || hostPort.family === 0);
  if (bad) {
    throw new GrpcTargetError(
      `"${bad.entry}" in a list is not IP:port; a list takes IP addresses only ` +
        '(for a name with several addresses use dns:///name:port)',
    );
  }
  const families = new Set(parsed.map(({ hostPort }) => hostPort!.family));
  if (families.size > 1) {
    throw new GrpcTargetError('a list takes IPv4 or IPv6 addresses, not both');
  }
  return `ipv${[...families][0]}:${entries.join(',')}`;
}
