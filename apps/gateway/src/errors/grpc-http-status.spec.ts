import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { grpcStatusFromHttp, grpcStatusName, httpStatusFromGrpc } from './grpc-http-status.js';

// DESIGN.md's table (grpc-gateway's), written out again on purpose: the test
// must fail if the mapping drifts from the contract.
const CONTRACT: Array<[string, number, number]> = [
  ['OK', 0, 200],
  ['CANCELLED', 1, 499],
  ['UNKNOWN', 2, 500],
  ['INVALID_ARGUMENT', 3, 400],
  ['DEADLINE_EXCEEDED', 4, 504],
  ['NOT_FOUND', 5, 404],
  ['ALREADY_EXISTS', 6, 409],
  ['PERMISSION_DENIED', 7, 403],
  ['RESOURCE_EXHAUSTED', 8, 429],
  ['FAILED_PRECONDITION', 9, 400],
  ['ABORTED', 10, 409],
  ['OUT_OF_RANGE', 11, 400],
  ['UNIMPLEMENTED', 12, 501],
  ['INTERNAL', 13, 500],
  ['UNAVAILABLE', 14, 503],
  ['DATA_LOSS', 15, 500],
  ['UNAUTHENTICATED', 16, 401],
];

describe('httpStatusFromGrpc', () => {
  it('covers all 17 gRPC codes', () => {
    expect(CONTRACT).toHaveLength(17);
    expect(CONTRACT.map(([name]) => status[name as keyof typeof status])).toEqual(
      CONTRACT.map(([, code]) => code),
    );
  });

  it.each(CONTRACT)('%s (%i) -> HTTP %i', (name, code, http) => {
    expect(httpStatusFromGrpc(code)).toBe(http);
    expect(grpcStatusName(code)).toBe(name);
  });

  it('maps a code gRPC does not define to 500', () => {
    expect(httpStatusFromGrpc(17)).toBe(500);
    expect(httpStatusFromGrpc(-1)).toBe(500);
    expect(grpcStatusName(99)).toBe('UNKNOWN');
  });
});

describe('grpcStatusFromHttp', () => {
  it.each([
    [400, status.INVALID_ARGUMENT],
    [401, status.UNAUTHENTICATED],
    [403, status.PERMISSION_DENIED],
    [404, status.NOT_FOUND],
    [405, status.UNIMPLEMENTED],
    [408, status.DEADLINE_EXCEEDED],
    [409, status.ALREADY_EXISTS],
    [413, status.RESOURCE_EXHAUSTED],
    [415, status.INVALID_ARGUMENT],
    [429, status.RESOURCE_EXHAUSTED],
    [431, status.RESOURCE_EXHAUSTED],
    [499, status.CANCELLED],
    [500, status.INTERNAL],
    [503, status.UNAVAILABLE],
    [504, status.DEADLINE_EXCEEDED],
  ])('HTTP %i -> gRPC %i', (http, code) => {
    expect(grpcStatusFromHttp(http)).toBe(code);
  });

  it('round-trips every code whose HTTP status is its own', () => {
    for (const code of [1, 3, 4, 5, 7, 12, 14, 16]) {
      expect(grpcStatusFromHttp(httpStatusFromGrpc(code))).toBe(code);
    }
  });
});
