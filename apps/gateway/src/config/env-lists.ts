import { isIP } from 'node:net';
import { Transform } from 'class-transformer';
import { ValidateBy } from 'class-validator';

/**
 * Reads a comma-separated variable as a list of its trimmed items (a blank
 * value never gets here: validateEnv drops it). Reads the raw value, so
 * implicit conversion never sees it.
 */
export function CommaList(): PropertyDecorator {
  return Transform(({ key, obj }: { key: string; obj: Record<string, unknown> }) => {
    const raw = obj[key];
    if (typeof raw !== 'string') return raw;
    return raw.split(',').map((item) => item.trim());
  });
}

/** Why `keys` is not a list of API keys; undefined when it is one. Never shows a key. */
function apiKeysProblem(keys: unknown): string | undefined {
  if (!Array.isArray(keys)) return 'must be a comma-separated list of keys';
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'string' || key === '') return `key ${i + 1} is empty`;
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(key)) {
      return `key ${i + 1} must be printable ASCII without spaces or commas`;
    }
    if (key.length < 16) {
      return `key ${i + 1} must be at least 16 characters (e.g. \`openssl rand -hex 32\`)`;
    }
  }
  return undefined;
}

/** A list of API keys (with `CommaList()`): each at least 16 printable characters. */
export function IsApiKeyList(): PropertyDecorator {
  return ValidateBy({
    name: 'isApiKeyList',
    validator: {
      validate: (value) => apiKeysProblem(value) === undefined,
      defaultMessage: (args) => apiKeysProblem(args?.value) ?? '',
    },
  });
}

/** Why `origin` is not `*` or a browser origin (`scheme://host[:port]`); undefined when it is. */
function originProblem(origin: unknown): string | undefined {
  if (origin === '*') return undefined;
  if (typeof origin !== 'string' || origin === '') return 'has an empty origin';
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `"${origin}" is not an origin such as https://app.example.com`;
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.origin !== origin) {
    return `"${origin}" is not an origin: scheme://host[:port], no path or trailing slash`;
  }
  return undefined;
}

/** A list of CORS origins (with `CommaList()`): each `*` or `scheme://host[:port]`. */
export function IsOriginList(): PropertyDecorator {
  const problem = (value: unknown) =>
    Array.isArray(value)
      ? value.map(originProblem).find((p) => p !== undefined)
      : 'must be a comma-separated list of origins';
  return ValidateBy({
    name: 'isOriginList',
    validator: {
      validate: (value) => problem(value) === undefined,
      defaultMessage: (args) => problem(args?.value) ?? '',
    },
  });
}

/** Why `range` is not an IP address or CIDR (`10.0.0.0/8`, `fd00::/8`); undefined when it is. */
function cidrProblem(range: unknown): string | undefined {
  if (typeof range !== 'string' || range === '') return 'has an empty entry';
  const [address, prefix, ...rest] = range.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  if (family === 0 || rest.length > 0) {
    return `"${range}" is not an IP address or CIDR such as 10.0.0.0/8`;
  }
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits)) {
    return `"${range}" has a prefix length that is not 0-${bits}`;
  }
  return undefined;
}

/** A list of IP addresses and CIDRs (with `CommaList()`). */
export function IsCidrList(): PropertyDecorator {
  const problem = (value: unknown) =>
    Array.isArray(value)
      ? value.map(cidrProblem).find((p) => p !== undefined)
      : 'must be a comma-separated list of CIDRs';
  return ValidateBy({
    name: 'isCidrList',
    validator: {
      validate: (value) => problem(value) === undefined,
      defaultMessage: (args) => problem(args?.value) ?? '',
    },
  });
}
