import { describe, expect, it } from 'vitest';
import { Metadata, status } from '@grpc/grpc-js';
import {
  RETRY_PUSHBACK_KEY,
  retryDelayMs,
  richRpcException,
  richStatus,
  richStatusTrailers,
  STATUS_DETAILS_KEY,
  statusDetailsJson,
  statusFromTrailers,
} from './rich-status.js';

describe('rich status (google.rpc.Status in grpc-status-details-bin)', () => {
  it('round-trips through the trailers, details in grpc-gateway JSON form', () => {
    const sent = richStatus(status.INVALID_ARGUMENT, 'unknown cheese type 42', {
      reason: 'UNKNOWN_CHEESE_TYPE',
      domain: 'cheesefarm.CheeseService',
      metadata: { type: '42' },
      fieldViolations: [{ field: 'type', description: 'unknown cheese type 42' }],
    });
    const trailers = richStatusTrailers(sent);
    expect(trailers.get(RETRY_PUSHBACK_KEY)).toEqual([]);
    const received = statusFromTrailers(trailers)!;
    expect(received.code).toBe(status.INVALID_ARGUMENT);
    expect(received.message).toBe('unknown cheese type 42');
    expect(statusDetailsJson(received)).toEqual([
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'UNKNOWN_CHEESE_TYPE',
        domain: 'cheesefarm.CheeseService',
        metadata: { type: '42' },
      },
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ field: 'type', description: 'unknown cheese type 42' }],
      },
    ]);
  });

  it('carries RetryInfo as a Duration and as the pushback grpc-js retries honour', () => {
    const sent = richStatus(status.UNAVAILABLE, 'down', {
      reason: 'SHUTTING_DOWN',
      domain: 'stream.Soccer',
      retryDelayMs: 1500,
      resource: { type: 'match', name: 'demo' },
    });
    expect(retryDelayMs(sent)).toBe(1500);
    const trailers = richStatusTrailers(sent);
    expect(trailers.get(RETRY_PUSHBACK_KEY)).toEqual(['1500']);
    expect(statusDetailsJson(statusFromTrailers(trailers)!).slice(1)).toEqual([
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.500s' },
      {
        '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
        resourceType: 'match',
        resourceName: 'demo',
      },
    ]);
  });

  it('is an RpcException grpc-js answers with code, message and those trailers', () => {
    const error = richRpcException(status.NOT_FOUND, 'no match x', {
      reason: 'MATCH_NOT_FOUND',
      domain: 'stream.Soccer',
    }).getError() as { code: number; message: string; metadata: Metadata };
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.message).toBe('no match x');
    expect(statusFromTrailers(error.metadata)?.message).toBe('no match x');
  });

  it('reads nothing from trailers without details, or with bytes that are no Status', () => {
    expect(statusFromTrailers(new Metadata())).toBeUndefined();
    expect(statusFromTrailers(undefined)).toBeUndefined();
    const garbage = new Metadata();
    garbage.set(STATUS_DETAILS_KEY, Buffer.from([0xff, 0xff, 0xff]));
    expect(statusFromTrailers(garbage)).toBeUndefined();
  });
});
