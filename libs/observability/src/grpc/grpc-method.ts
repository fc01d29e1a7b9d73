import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** The four call styles, named as go-grpc-prometheus and grpc-ecosystem label them. */
export type GrpcCallType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** Who and what a call is, from its method definition ('/pkg.Service/Method'). */
export interface GrpcMethodInfo {
  /** 'cheesefarm.CheeseService' */
  readonly service: string;
  /** 'Order' */
  readonly method: string;
  /** 'cheesefarm.CheeseService/Order', the span name gRPC's conventions give. */
  readonly fullMethod: string;
  readonly type: GrpcCallType;
}

export function grpcMethodInfo(definition: {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}): GrpcMethodInfo {
  const fullMethod = definition.path.replace(/^\//, '');
  const slash = fullMethod.lastIndexOf('/');
  const { requestStream, responseStream } = definition;
  return {
    service: fullMethod.slice(0, slash),
    method: fullMethod.slice(slash + 1),
    fullMethod,
    type:
      requestStream && responseStream
        ? 'bidi_stream'
        : requestStream
          ? 'client_stream'
          : responseStream
            ? 'server_stream'
            : 'unary',
  };
}

/** 'OK', 'UNAVAILABLE', …: the name of a numeric gRPC status code. */
export function grpcCodeName(code: number): string {
  return GrpcStatus[code] ?? String(code);
}

/** Health checks and reflection: infrastructure traffic, logged at debug level only. */
export function isInfrastructureService(service: string): boolean {
  return service.startsWith('grpc.health.') || service.startsWith('grpc.reflection.');
}

/** W3C trace context in gRPC metadata (traceparent, tracestate). */
export const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key).filter((v): v is string => typeof v === 'string');
    return values.length > 1 ? values : values[0];
  },
};

export const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};
