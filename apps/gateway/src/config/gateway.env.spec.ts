import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidEnvironmentError, validateEnv } from '#config';
import { GatewayEnv } from './gateway.env.js';

const validate = validateEnv(GatewayEnv);
const KEY_A = 'gw-key-a-3f9c1d7e5b2a8064';
const KEY_B = 'gw-key-b-8e2b6a0d4c7f1953';

function errorOf(env: Record<string, string>): string {
  try {
    validate(env);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEnvironmentError);
    return (err as Error).message;
  }
  throw new Error('expected the environment to be refused');
}

describe('GatewayEnv: HTTP hardening', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-env-'));
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server-key.pem');
  writeFileSync(cert, 'pem');
  writeFileSync(key, 'pem');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults: writes open, 1200 requests a minute, 32 streams, 10 s / 75 s / 16 KiB, no CORS, HTTP', () => {
    const env = validate({});
    expect(env).toMatchObject({
      GATEWAY_RATE_LIMIT: 1200,
      GATEWAY_RATE_LIMIT_WINDOW_MS: 60_000,
      GATEWAY_MAX_STREAMS_PER_IP: 32,
      GATEWAY_HEADERS_TIMEOUT_MS: 10_000,
      GATEWAY_IDLE_TIMEOUT_MS: 75_000,
      GATEWAY_MAX_HEADER_BYTES: 16_384,
    });
    // Above the 60 s a proxy in front keeps upstream connections (ingress-nginx's
    // upstream-keepalive-timeout, cloud load balancers): otherwise sporadic 502s.
    expect(env.GATEWAY_IDLE_TIMEOUT_MS).toBeGreaterThan(60_000);
    for (const name of ['GATEWAY_API_KEYS', 'GATEWAY_CORS_ORIGINS', 'GATEWAY_TLS_CERT', 'GATEWAY_TLS_KEY'] as const) {
      expect(env[name]).toBeUndefined();
    }
  }); // prettier-ignore

  it('reads the API keys as a list, spaces around commas trimmed; empty is unset', () => {
    expect(validate({ GATEWAY_API_KEYS: `${KEY_A}, ${KEY_B}` }).GATEWAY_API_KEYS).toEqual([
      KEY_A,
      KEY_B,
    ]);
    expect(validate({ GATEWAY_API_KEYS: KEY_A }).GATEWAY_API_KEYS).toEqual([KEY_A]);
    expect(validate({ GATEWAY_API_KEYS: ' ' }).GATEWAY_API_KEYS).toBeUndefined();
  });

  it.each([
    ['too short', `${KEY_A},short-key-1234`, /key 2 must be at least 16 characters/],
    ['empty', `${KEY_A},,${KEY_B}`, /key 2 is empty/],
    ['with a space inside', 'a key with spaces inside', /key 1 must be printable ASCII/],
    ['with a control character', `${KEY_A}\u0007`, /key 1 must be printable ASCII/],
  ])('refuses a key %s without ever showing it', (_case, keys, reason) => {
    const message = errorOf({ GATEWAY_API_KEYS: keys });
    expect(message).toMatch(/GATEWAY_API_KEYS=\(secret, not shown\)/);
    expect(message).toMatch(reason);
    for (const part of keys.split(',')) if (part) expect(message).not.toContain(part.slice(0, 8));
  });

  it.each([
    ['https://app.example.com', ['https://app.example.com']],
    ['*', ['*']],
    ['http://localhost:5173, https://a.example', ['http://localhost:5173', 'https://a.example']],
  ])('reads GATEWAY_CORS_ORIGINS=%j', (raw, origins) => {
    expect(validate({ GATEWAY_CORS_ORIGINS: raw }).GATEWAY_CORS_ORIGINS).toEqual(origins);
  });

  it.each([
    ['https://app.example.com/', /not an origin/],
    ['https://app.example.com/path', /not an origin/],
    ['app.example.com', /not an origin/],
    ['ftp://files.example', /not an origin/],
    ['https://a.example,,https://b.example', /empty origin/],
  ])('refuses GATEWAY_CORS_ORIGINS=%j', (raw, reason) => {
    expect(errorOf({ GATEWAY_CORS_ORIGINS: raw })).toMatch(reason);
  });

  it.each([
    ['GATEWAY_RATE_LIMIT', '-1'],
    ['GATEWAY_RATE_LIMIT_WINDOW_MS', '999'],
    ['GATEWAY_MAX_STREAMS_PER_IP', '1.5'],
    ['GATEWAY_HEADERS_TIMEOUT_MS', '0'],
    ['GATEWAY_IDLE_TIMEOUT_MS', 'soon'],
    ['GATEWAY_MAX_HEADER_BYTES', '100'],
  ])('refuses %s=%s naming it', (name, value) => {
    expect(errorOf({ [name]: value })).toMatch(new RegExp(`${name}="${value}"`));
  });

  it('turns the rate limit and the stream cap off with 0', () => {
    const env = validate({ GATEWAY_RATE_LIMIT: '0', GATEWAY_MAX_STREAMS_PER_IP: '0' });
    expect(env.GATEWAY_RATE_LIMIT).toBe(0);
    expect(env.GATEWAY_MAX_STREAMS_PER_IP).toBe(0);
  });

  it('takes a certificate with its key; each needs the other, and must be a readable file', () => {
    expect(validate({ GATEWAY_TLS_CERT: cert, GATEWAY_TLS_KEY: key })).toMatchObject({
      GATEWAY_TLS_CERT: cert,
      GATEWAY_TLS_KEY: key,
    });
    expect(errorOf({ GATEWAY_TLS_CERT: cert })).toMatch(/GATEWAY_TLS_CERT=.*needs GATEWAY_TLS_KEY/);
    expect(errorOf({ GATEWAY_TLS_KEY: key })).toMatch(/GATEWAY_TLS_KEY=.*needs GATEWAY_TLS_CERT/);
    expect(errorOf({ GATEWAY_TLS_CERT: join(dir, 'nope.pem'), GATEWAY_TLS_KEY: key })).toMatch(
      /GATEWAY_TLS_CERT=.*not found/,
    );
    expect(
      validate({ GATEWAY_TLS_CERT: '', GATEWAY_TLS_KEY: '' }).GATEWAY_TLS_CERT,
    ).toBeUndefined();
  });
});

describe('GatewayEnv: scale-out', () => {
  it('defaults: no trusted proxy, no Redis, 120 chat messages a minute per socket', () => {
    const env = validate({});
    expect(env.GATEWAY_TRUSTED_PROXIES).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.GATEWAY_CHAT_MESSAGES_PER_MINUTE).toBe(120);
    expect(validate({ GATEWAY_TRUSTED_PROXIES: '', REDIS_URL: '' })).toMatchObject({
      GATEWAY_TRUSTED_PROXIES: undefined,
      REDIS_URL: undefined,
    });
  });

  it.each([
    ['10.0.0.0/8', ['10.0.0.0/8']],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.244.0.0/16, 192.168.1.7/32 ,fd00::/8', ['10.244.0.0/16', '192.168.1.7/32', 'fd00::/8']],
    ['::1/128', ['::1/128']],
    ['0.0.0.0/0', ['0.0.0.0/0']],
  ])('reads GATEWAY_TRUSTED_PROXIES=%j', (raw, list) => {
    expect(validate({ GATEWAY_TRUSTED_PROXIES: raw }).GATEWAY_TRUSTED_PROXIES).toEqual(list);
  });

  it.each([
    ['10.0.0.0/33', /prefix length that is not 0-32/],
    ['fd00::/129', /prefix length that is not 0-128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/8/8', /not an IP address or CIDR/],
    ['ingress-nginx', /not an IP address or CIDR/],
    ['10.0.0.256', /not an IP address or CIDR/],
    ['10.0.0.0/8,,10.1.0.0/16', /empty entry/],
  ])('refuses GATEWAY_TRUSTED_PROXIES=%j', (raw, reason) => {
    expect(errorOf({ GATEWAY_TRUSTED_PROXIES: raw })).toMatch(reason);
  });

  it('takes REDIS_URL as a secret: a bad one is refused without being shown', () => {
    expect(validate({ REDIS_URL: 'redis://redis:6379' }).REDIS_URL).toBe('redis://redis:6379');
    const message = errorOf({ REDIS_URL: 'http://:hunter2@redis:6379' });
    expect(message).toMatch(/REDIS_URL=\(secret, not shown\): must start with redis:\/\//);
    expect(message).not.toContain('hunter2');
  });
});
