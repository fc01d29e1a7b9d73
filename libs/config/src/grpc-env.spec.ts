import { describe, expect, it } from 'vitest';
import { GrpcEnv } from './grpc-env.js';
import { InvalidEnvironmentError, validateEnv } from './validate-env.js';

describe('GrpcEnv', () => {
  const validate = validateEnv(GrpcEnv);

  it('defaults: reflection on, 10 s of shutdown grace', () => {
    expect(validate({})).toMatchObject({ GRPC_REFLECTION: true, SHUTDOWN_GRACE_MS: 10_000 });
  });

  it.each([
    ['false', false],
    ['FALSE', false],
    [' true ', true],
    ['True', true],
  ])('reads GRPC_REFLECTION=%j as %s', (raw, value) => {
    expect(validate({ GRPC_REFLECTION: raw }).GRPC_REFLECTION).toBe(value);
  });

  it.each(['0', '1', 'no', 'off', 'constructor'])(
    'rejects GRPC_REFLECTION=%j naming the variable',
    (raw) => {
      expect(() => validate({ GRPC_REFLECTION: raw })).toThrow(InvalidEnvironmentError);
      expect(() => validate({ GRPC_REFLECTION: raw })).toThrow(/GRPC_REFLECTION=/);
    },
  );

  it.each(['-1', '1.5', 'soon', '600001'])('rejects SHUTDOWN_GRACE_MS=%s', (raw) => {
    expect(() => validate({ SHUTDOWN_GRACE_MS: raw })).toThrow(/SHUTDOWN_GRACE_MS=/);
  });

  it('reads blank values as unset: the defaults apply', () => {
    expect(validate({ GRPC_REFLECTION: '', SHUTDOWN_GRACE_MS: ' ' })).toMatchObject({
      GRPC_REFLECTION: true,
      SHUTDOWN_GRACE_MS: 10_000,
    });
  });

  it('accepts SHUTDOWN_GRACE_MS=0 (cancel at once)', () => {
    expect(validate({ SHUTDOWN_GRACE_MS: '0' }).SHUTDOWN_GRACE_MS).toBe(0);
  });
});
