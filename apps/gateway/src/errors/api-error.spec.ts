import { describe, expect, it, vi } from 'vitest';
import {
  BadRequestException,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { Metadata, status } from '@grpc/grpc-js';
import { richStatus, richStatusTrailers } from '#proto';
import { toApiError } from './api-error.js';

/** An error shaped as @grpc/grpc-js raises it for a failed call. */
function grpcError(code: number, details: string) {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

describe('toApiError', () => {
  it('keeps a gRPC error code and its details', () => {
    expect(toApiError(grpcError(status.UNAVAILABLE, 'no backend'))).toEqual({
      httpStatus: 503,
      body: { code: 14, status: 'UNAVAILABLE', message: 'no backend' },
    });
    expect(toApiError(grpcError(status.DEADLINE_EXCEEDED, 'too slow')).httpStatus).toBe(504);
  });

  it('names HTTP-layer errors with a gRPC status', () => {
    expect(toApiError(new BadRequestException(['a is bad', 'b is bad']))).toEqual({
      httpStatus: 400,
      body: { code: 3, status: 'INVALID_ARGUMENT', message: 'a is bad; b is bad' },
    });
    expect(toApiError(new NotFoundException('Cannot GET /x')).body.status).toBe('NOT_FOUND');
    expect(toApiError(new PayloadTooLargeException()).body.status).toBe('RESOURCE_EXHAUSTED');
  });

  it('keeps the status of a platform error (e.g. Fastify body parser)', () => {
    const err = Object.assign(new Error('Unsupported Media Type'), { statusCode: 415 });
    expect(toApiError(err)).toEqual({
      httpStatus: 415,
      body: { code: 3, status: 'INVALID_ARGUMENT', message: 'Unsupported Media Type' },
    });
  });

  it('hides anything else behind a bare 500, logging the stack instead', () => {
    const logged = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { httpStatus, body } = toApiError(new TypeError('secret internals at line 3'));
    expect(httpStatus).toBe(500);
    expect(body).toEqual({ code: 13, status: 'INTERNAL', message: 'internal error' });
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('secret internals at line 3'));
    logged.mockRestore();
  });
});

describe('toApiError with rich details (google.rpc.Status)', () => {
  it('adds the details in grpc-gateway JSON form, and Retry-After from RetryInfo', () => {
    const message = 'chat broker unavailable';
    const error = Object.assign(grpcError(status.UNAVAILABLE, message), {
      metadata: richStatusTrailers(
        richStatus(status.UNAVAILABLE, message, {
          reason: 'CHAT_BROKER_UNAVAILABLE',
          domain: 'stream.Soccer',
          retryDelayMs: 1200,
        }),
      ),
    });
    expect(toApiError(error)).toEqual({
      httpStatus: 503,
      retryAfterSeconds: 2,
      body: {
        code: 14,
        status: 'UNAVAILABLE',
        message,
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'CHAT_BROKER_UNAVAILABLE',
            domain: 'stream.Soccer',
          },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.200s' },
        ],
      },
    });
  });
});
