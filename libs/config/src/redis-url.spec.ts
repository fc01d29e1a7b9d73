import { IsOptional } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { IsRedisUrl, redactedUrl, redisUrlProblem } from './redis-url.js';
import { SecretEnv } from './secret-env.js';
import { validateEnv } from './validate-env.js';

/** REDIS_URL as soccer-service and the gateway declare it. */
class RedisEnv {
  @SecretEnv()
  @IsOptional()
  @IsRedisUrl()
  REDIS_URL?: string;
}

const validate = validateEnv(RedisEnv);

describe('REDIS_URL', () => {
  it.each([
    'redis://redis:6379',
    'redis://127.0.0.1:6379/',
    'redis://:s3cret@redis:6379/0',
    'redis://chat:s3cret@redis.cache.svc.cluster.local:6380/15',
    'rediss://cache.example.com',
    'redis://[::1]:6379',
  ])('accepts %s', (url) => {
    expect(redisUrlProblem(url)).toBeUndefined();
    expect(validate({ REDIS_URL: url }).REDIS_URL).toBe(url);
  });

  it('is unset by default, and when empty (`REDIS_URL=` in a compose file)', () => {
    expect(validate({}).REDIS_URL).toBeUndefined();
    expect(validate({ REDIS_URL: '' }).REDIS_URL).toBeUndefined();
    expect(validate({ REDIS_URL: '  ' }).REDIS_URL).toBeUndefined();
  });

  it.each([
    ['redis:6379', /must name a host/],
    ['http://redis:6379', /must start with redis:\/\//],
    ['redis://', /must name a host/],
    ['redis://redis:6379/cache', /database number/],
    ['redis://redis:99999', /redis:\/\/ or rediss:\/\//],
  ])('refuses %s', (url, reason) => {
    expect(redisUrlProblem(url)).toMatch(reason);
  });

  it('names the variable but never shows the URL, which may hold a password', () => {
    const start = () => validate({ REDIS_URL: 'http://:hunter2-password@redis:6379' });
    expect(start).toThrow(/REDIS_URL=\(secret, not shown\): must start with redis:\/\//);
    expect(start).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining('hunter2') }),
    );
  });

  it('is shown in logs without its credentials', () => {
    expect(redactedUrl('redis://user:s3cret@redis:6379/0')).toBe('redis://redis:6379/0');
    expect(redactedUrl('rediss://:s3cret@cache.internal')).toBe('rediss://cache.internal');
  });
});
