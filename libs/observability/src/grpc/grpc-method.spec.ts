import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { grpcCodeName, grpcMethodInfo, metadataGetter, metadataSetter } from './grpc-method.js';

describe('grpcMethodInfo', () => {
  it.each([
    [false, false, 'unary'],
    [true, false, 'client_stream'],
    [false, true, 'server_stream'],
    [true, true, 'bidi_stream'],
  ] as const)('requestStream %s, responseStream %s: %s', (requestStream, responseStream, type) => {
    expect(grpcMethodInfo({ path: '/stream.Soccer/Chat', requestStream, responseStream })).toEqual({
      service: 'stream.Soccer',
      method: 'Chat',
      fullMethod: 'stream.Soccer/Chat',
      type,
    });
  });
});

describe('grpcCodeName', () => {
  it('names codes as grpc does', () => {
    expect(grpcCodeName(0)).toBe('OK');
    expect(grpcCodeName(14)).toBe('UNAVAILABLE');
    expect(grpcCodeName(99)).toBe('99');
  });
});

describe('trace context in metadata', () => {
  it('sets and reads W3C headers', () => {
    const md = new Metadata();
    metadataSetter.set(
      md,
      'traceparent',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
    expect(metadataGetter.keys(md)).toEqual(['traceparent']);
    expect(metadataGetter.get(md, 'traceparent')).toBe(
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
    expect(metadataGetter.get(md, 'tracestate')).toBeUndefined();
  });
});
