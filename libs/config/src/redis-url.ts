import { registerDecorator } from 'class-validator';

/**
 * Why `value` is not a Redis URL ioredis can dial, or undefined when it is:
 * `redis://` (plaintext) or `rediss://` (TLS), a host, an optional port, and
 * an optional database number as the path (`redis://:password@redis:6379/0`).
 * The reason never repeats the value: it may hold a password.
 */
export function redisUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a redis:// or rediss:// URL';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a redis:// or rediss:// URL, e.g. redis://redis:6379';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return 'must start with redis:// (plaintext) or rediss:// (TLS)';
  }
  if (!url.hostname) return 'must name a host, e.g. redis://redis:6379';
  if (!/^(\/\d{0,2})?$/.test(url.pathname)) {
    return 'may only have a database number as its path, e.g. redis://redis:6379/0';
  }
  return undefined;
}

/** A Redis URL (see redisUrlProblem). */
export function IsRedisUrl(): PropertyDecorator {
  return (target, property) =>
    registerDecorator({
      name: 'isRedisUrl',
      target: target.constructor,
      propertyName: String(property),
      validator: {
        validate: (value: unknown) => redisUrlProblem(value) === undefined,
        defaultMessage: (args) => redisUrlProblem(args?.value) ?? 'must be a Redis URL',
      },
    });
}

/** The URL without user name and password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}
