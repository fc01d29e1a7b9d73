import { describe, expect, it } from 'vitest';
import { GrpcTargetError, grpcTarget } from './grpc-target.js';

describe('grpcTarget', () => {
  it.each([
    ['localhost:4000', 'localhost:4000'],
    ['cheese-service:4000', 'cheese-service:4000'],
    ['127.0.0.1:4000', '127.0.0.1:4000'],
    ['[::1]:4000', '[::1]:4000'],
    ['  cheese:4000 ', 'cheese:4000'],
  ])('keeps one address as it is: %s', (address, target) => {
    expect(grpcTarget(address)).toBe(target);
  });

  it.each([
    ['10.0.0.1:4000,10.0.0.2:4000', 'ipv4:10.0.0.1:4000,10.0.0.2:4000'],
    ['127.0.0.1:4001, 127.0.0.1:4002', 'ipv4:127.0.0.1:4001,127.0.0.1:4002'],
    ['[::1]:4001,[fd00::2]:4002', 'ipv6:[::1]:4001,[fd00::2]:4002'],
  ])('turns a list of IP:port into an ipv4:/ipv6: target: %s', (address, target) => {
    expect(grpcTarget(address)).toBe(target);
  });

  it.each([
    'dns:///cheese-service-headless.ns.svc.cluster.local:4000',
    'dns:cheese:4000',
    'ipv4:10.0.0.1:4000,10.0.0.2:4000',
    'ipv6:[::1]:4000',
    'unix:/run/cheese.sock',
  ])('passes a target URI through: %s', (target) => {
    expect(grpcTarget(target)).toBe(target);
  });

  it.each([
    ['', /must be host:port/],
    ['cheese', /must be host:port/],
    ['cheese:0', /must be host:port/],
    ['cheese:70000', /must be host:port/],
    ['http://cheese:4000', /must be host:port/],
    ['::1:4000', /must be host:port/],
    ['[cheese]:4000', /must be host:port/],
    ['cheese-a:4000,cheese-b:4000', /"cheese-a:4000" in a list is not IP:port.*dns:\/\/\//],
    ['10.0.0.1:4000,', /"" in a list is not IP:port/],
    ['10.0.0.1:4000,[::1]:4000', /IPv4 or IPv6 addresses, not both/],
  ])('refuses %j', (address, message) => {
    expect(() => grpcTarget(address)).toThrow(GrpcTargetError);
    expect(() => grpcTarget(address)).toThrow(message);
  });
});
