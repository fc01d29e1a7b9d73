import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.js';
import { listenerOptions } from './http-hardening.js';

const ENV = {
  GATEWAY_HEADERS_TIMEOUT_MS: 10_000,
  GATEWAY_IDLE_TIMEOUT_MS: 30_000,
  GATEWAY_MAX_HEADER_BYTES: 16_384,
  GATEWAY_DEADLINE_MS: 5000,
  GATEWAY_UPLOAD_TIMEOUT_MS: 3600_000,
};

/** A Fastify app with the gateway's trustProxy setting that answers with clientAddress. */
async function appTrusting(proxies?: string[]): Promise<FastifyInstance> {
  const { trustProxy } = listenerOptions({ ...ENV, GATEWAY_TRUSTED_PROXIES: proxies });
  const app = Fastify({ trustProxy });
  app.get('/', (request) => clientAddress(request));
  await app.ready();
  return app;
}

describe('clientAddress with GATEWAY_TRUSTED_PROXIES', () => {
  let trusting: FastifyInstance;
  let plain: FastifyInstance;

  beforeAll(async () => {
    trusting = await appTrusting(['10.0.0.0/8', 'fd00::/8']);
    plain = await appTrusting(undefined);
  });
  afterAll(() => Promise.all([trusting.close(), plain.close()]));

  const from = async (app: FastifyInstance, peer: string, forwardedFor?: string) =>
    (
      await app.inject({
        url: '/',
        remoteAddress: peer,
        headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
      })
    ).body;

  it.each([
    ['a trusted proxy: the forwarded client', '10.1.2.3', '203.0.113.7', '203.0.113.7'],
    [
      'a chain of trusted proxies: the rightmost address that is not one',
      '10.1.2.3',
      '198.51.100.1, 203.0.113.7, 10.9.9.9',
      '203.0.113.7',
    ],
    [
      'a client that forged the header before a trusted proxy: what the proxy saw',
      '10.1.2.3',
      '1.1.1.1, 203.0.113.7',
      '203.0.113.7',
    ],
    ['a trusted proxy that forwards nothing: the proxy', '10.1.2.3', undefined, '10.1.2.3'],
    ['every address trusted: the leftmost', '10.1.2.3', '10.7.7.7, 10.8.8.8', '10.7.7.7'],
    [
      'an IPv6 client through an IPv6 proxy: its /64',
      'fd00::5',
      '2001:db8:1:2:3:4:5:6',
      '2001:db8:1:2::/64',
    ],
    ['an IPv4-mapped trusted peer', '::ffff:10.0.0.9', '203.0.113.8', '203.0.113.8'],
    [
      'a client that is no trusted proxy cannot spoof: its own address',
      '203.0.113.50',
      '1.2.3.4',
      '203.0.113.50',
    ],
  ])('%s', async (_case, peer, forwardedFor, client) => {
    expect(await from(trusting, peer, forwardedFor)).toBe(client);
  });

  it('without trusted proxies, the header is never read', async () => {
    expect(await from(plain, '10.1.2.3', '203.0.113.7')).toBe('10.1.2.3');
    expect(await from(plain, '127.0.0.1', '203.0.113.7, 127.0.0.1')).toBe('127.0.0.1');
  });
});
