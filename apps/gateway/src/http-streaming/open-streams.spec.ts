import { describe, expect, it } from 'vitest';
import { OpenStreams } from './open-streams.js';

describe('OpenStreams: streams per client', () => {
  it('admits up to `max` per client, each client on its own', () => {
    const streams = new OpenStreams();
    const a1 = streams.admit('10.0.0.1', 2);
    const a2 = streams.admit('10.0.0.1', 2);
    expect(a1 && a2).toBeTruthy();
    expect(streams.admit('10.0.0.1', 2)).toBeUndefined();
    expect(streams.admit('10.0.0.2', 2)).toBeDefined();
    expect(streams.openFrom('10.0.0.1')).toBe(2);
    a1!();
    expect(streams.openFrom('10.0.0.1')).toBe(1);
    expect(streams.admit('10.0.0.1', 2)).toBeDefined();
  });

  it('uncounts a stream once, however often its release runs', () => {
    const streams = new OpenStreams();
    const release = streams.admit('10.0.0.1', 5)!;
    const other = streams.admit('10.0.0.1', 5)!;
    release();
    release();
    expect(streams.openFrom('10.0.0.1')).toBe(1);
    other();
    expect(streams.openFrom('10.0.0.1')).toBe(0);
  });
});
