import { describe, expect, it } from 'vitest';
import { GrpcHealth } from './grpc-health.js';

const statuses = (health: GrpcHealth) =>
  Object.fromEntries(['', 'a.A', 'b.B'].map((s) => [s, health.status(s)]));

describe('GrpcHealth', () => {
  it('is NOT_SERVING until serving(), then SERVING for the server and each service', () => {
    const health = new GrpcHealth(['a.A', 'b.B']);
    expect(statuses(health)).toEqual({
      '': 'NOT_SERVING',
      'a.A': 'NOT_SERVING',
      'b.B': 'NOT_SERVING',
    });
    health.serving();
    expect(statuses(health)).toEqual({ '': 'SERVING', 'a.A': 'SERVING', 'b.B': 'SERVING' });
  });

  it('a failing check takes its service and the whole server NOT_SERVING, until it passes', () => {
    const health = new GrpcHealth(['a.A', 'b.B']);
    health.serving();
    expect(health.setCheck('a.A', 'disk', 'EROFS')).toBe(true);
    expect(health.setCheck('a.A', 'disk', 'EROFS')).toBe(false); // no change
    expect(statuses(health)).toEqual({ '': 'NOT_SERVING', 'a.A': 'NOT_SERVING', 'b.B': 'SERVING' });
    expect(health.problems('a.A')).toEqual(['disk: EROFS']);
    expect(health.setCheck('a.A', 'disk', undefined)).toBe(true);
    expect(statuses(health)).toEqual({ '': 'SERVING', 'a.A': 'SERVING', 'b.B': 'SERVING' });
  });

  it('a check failing before serving() keeps its service NOT_SERVING after it', () => {
    const health = new GrpcHealth(['a.A']);
    health.setCheck('a.A', 'disk', 'ENOTDIR');
    health.serving();
    expect(health.status('a.A')).toBe('NOT_SERVING');
  });

  it('once stopping, everything is NOT_SERVING for good', () => {
    const health = new GrpcHealth(['a.A', 'b.B']);
    health.serving();
    health.stopping();
    health.serving();
    health.setCheck('a.A', 'disk', undefined);
    expect(statuses(health)).toEqual({
      '': 'NOT_SERVING',
      'a.A': 'NOT_SERVING',
      'b.B': 'NOT_SERVING',
    });
  });

  it('says why it is not SERVING: the phase, then each failing check, for a service or the whole server', () => {
    const health = new GrpcHealth(['a.A', 'b.B']);
    expect([health.started, health.problems('')]).toEqual([false, ['not listening yet']]);
    health.serving();
    health.setCheck('a.A', 'disk', 'EROFS');
    health.setCheck('b.B', 'redis', 'gone');
    expect(health.started).toBe(true);
    expect(health.problems('')).toEqual(['disk: EROFS', 'redis: gone']);
    expect(health.problems('b.B')).toEqual(['redis: gone']);
    health.stopping();
    expect([health.started, health.problems('a.A')]).toEqual([true, ['shutting down', 'disk: EROFS']]);
  }); // prettier-ignore

  it('refuses checks of services it does not know', () => {
    expect(() => new GrpcHealth(['a.A']).setCheck('c.C', 'x', 'y')).toThrow(/unknown service/);
  });
});
