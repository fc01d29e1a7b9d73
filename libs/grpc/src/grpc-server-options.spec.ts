import { describe, expect, it } from 'vitest';
import { grpcServiceName } from '#proto';
import { GRPC_KEEPALIVE } from './grpc-link.js';
import { grpcServerOptions } from './grpc-server-options.js';

describe('grpcServerOptions', () => {
  const link = { url: '0.0.0.0:4000', maxMessageBytes: 1234 };

  it('without hooks: the service alone, closed with forceShutdown (Nest default)', () => {
    const { options } = grpcServerOptions('cheese', link);
    expect(options).toMatchObject({ package: 'cheesefarm', url: '0.0.0.0:4000' });
    expect(options.gracefulShutdown).toBeUndefined();
    expect(options.onLoadPackageDefinition).toBeUndefined();
  });

  it('with hooks: registers them on the server and closes gracefully (tryShutdown)', () => {
    const calls: unknown[][] = [];
    const { options } = grpcServerOptions('soccer', link, {
      onLoadPackageDefinition: (...args) => calls.push(args),
    });
    expect(options.gracefulShutdown).toBe(true);
    options.onLoadPackageDefinition!('pkg', 'server');
    expect(calls).toEqual([['pkg', 'server']]);
  });

  it("permits the clients' keepalive and bounds connection age (DNS re-resolution)", () => {
    const { options } = grpcServerOptions('cheese', link, { onLoadPackageDefinition: () => {} });
    const channel = options.channelOptions as Record<string, number>;
    expect(channel['grpc.keepalive_permit_without_calls']).toBe(1);
    expect(channel['grpc.http2.min_ping_interval_without_data_ms']).toBeLessThan(
      GRPC_KEEPALIVE.timeMs,
    );
    expect(channel['grpc.max_connection_age_ms']).toBeGreaterThan(0);
    expect(channel['grpc.max_connection_age_grace_ms']).toBeUndefined(); // streams may finish
  });

  it('names services as health and reflection do', () => {
    expect(grpcServiceName('cheese')).toBe('cheesefarm.CheeseService');
    expect(grpcServiceName('soccer')).toBe('stream.Soccer');
  });
});
