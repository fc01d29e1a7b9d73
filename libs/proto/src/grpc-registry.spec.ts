import { describe, expect, it } from 'vitest';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { cheesefarm, stream } from './index.js';
import { GRPC_SERVICES, loadServiceProto } from './grpc-registry.js';

/** The method definitions the running apps get, loaded with the apps' options. */
function service(key: keyof typeof GRPC_SERVICES): ServiceDefinition {
  const { package: pkg, service: name } = GRPC_SERVICES[key];
  return loadServiceProto(key)[`${pkg}.${name}`] as ServiceDefinition;
}

// Key lists checked against the generated interfaces at compile time
// (`satisfies` fails typecheck when a field is added, renamed or dropped).
const VIDEO_KEYS = {
  data: 1,
  dataType: 1,
  dataShape: 1,
  seq: 1,
  ptsMs: 1,
  encoding: 1,
} satisfies Record<keyof stream.Video, 1>;
const CHEESE_KEYS = { age: 1, type: 1 } satisfies Record<keyof cheesefarm.Cheese, 1>;

describe('proto-loader options agree with the generated TypeScript', () => {
  it("encodes a generated CheeseRequest to the talk's bytes", () => {
    const order = service('cheese').Order;
    const request: cheesefarm.CheeseRequest = { type: cheesefarm.CheeseType.BRIE };
    // field 1 (varint) = 1
    expect([...order.requestSerialize(request)]).toEqual([0x08, 0x01]);
    const cheese: cheesefarm.Cheese = { age: 10, type: cheesefarm.CheeseType.ROQUEFORT };
    expect([...order.responseSerialize(cheese)]).toEqual([0x08, 0x0a, 0x10, 0x03]);
  });

  it('decodes every field under its generated (camelCase) name', () => {
    const watch = service('soccer').Watch;
    const video: stream.Video = {
      data: Buffer.from([1, 2, 3]),
      dataType: 'uint8',
      dataShape: '(1, 1, 3)',
      seq: 2 ** 40, // uint64 arrives as a JS number (longs: Number)
      ptsMs: 80,
      encoding: stream.Encoding.JPEG,
    };
    const decoded = watch.responseDeserialize(watch.responseSerialize(video)) as stream.Video;
    expect(Object.keys(decoded).sort()).toEqual(Object.keys(VIDEO_KEYS).sort());
    expect(decoded.dataType).toBe('uint8');
    expect(decoded.dataShape).toBe('(1, 1, 3)');
    expect(decoded.seq).toBe(2 ** 40);
    expect(decoded.ptsMs).toBe(80);
    expect(decoded.encoding).toBe(stream.Encoding.JPEG);
    expect([...decoded.data]).toEqual([1, 2, 3]);
  });

  it('fills in proto3 zero values and keeps enums as numbers', () => {
    const order = service('cheese').Order;
    // What a Python client sends when it orders EMMENTAL: an empty message.
    expect(order.requestDeserialize(Buffer.alloc(0))).toEqual({
      type: cheesefarm.CheeseType.EMMENTAL,
    });
    const cheese = order.responseDeserialize(Buffer.from([0x10, 0x01])) as cheesefarm.Cheese;
    expect(Object.keys(cheese).sort()).toEqual(Object.keys(CHEESE_KEYS).sort());
    expect(cheese).toEqual({ age: 0, type: cheesefarm.CheeseType.BRIE });
  });

  it('keeps an unknown enum number instead of dropping it', () => {
    const order = service('cheese').Order;
    expect(order.requestDeserialize(order.requestSerialize({ type: 42 }))).toEqual({ type: 42 });
  });

  it('serves the method paths of the talk', () => {
    expect(service('cheese').Order.path).toBe('/cheesefarm.CheeseService/Order');
    expect(service('soccer').Watch.path).toBe('/stream.Soccer/Watch');
  });
});
