import { describe, expect, it } from 'vitest';
import { validateEnv } from '#config';
import { SoccerServiceEnv } from './soccer-service.env.js';
import { redisUrlProblem } from './redis-url.js';

const validate = validateEnv(SoccerServiceEnv);

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
});
