import { describe, expect, it } from 'vitest';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { GRPC_SERVICES, grpcServiceName, loadServiceProto } from './grpc-registry.js';
import { GRPC_SERVICE_SCHEMAS } from './service-schemas.js';

describe('GRPC_SERVICE_SCHEMAS agree with what the apps load', () => {
  it.each(Object.keys(GRPC_SERVICES) as Array<keyof typeof GRPC_SERVICES>)(
    '%s: same service name, same methods, same streaming kinds',
    (key) => {
      const schema = GRPC_SERVICE_SCHEMAS[key];
      expect(schema.typeName).toBe(grpcServiceName(key));
      const loaded = loadServiceProto(key)[grpcServiceName(key)] as ServiceDefinition;
      const kinds = (requestStream: boolean, responseStream: boolean) =>
        requestStream
          ? responseStream
            ? 'bidi_streaming'
            : 'client_streaming'
          : responseStream
            ? 'server_streaming'
            : 'unary';
      expect(
        Object.fromEntries(
          schema.methods.map((m) => [`/${schema.typeName}/${m.name}`, m.methodKind]),
        ),
      ).toEqual(
        Object.fromEntries(
          Object.values(loaded).map((m) => [m.path, kinds(m.requestStream, m.responseStream)]),
        ),
      );
    },
  );
});
