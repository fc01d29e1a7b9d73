import { describe, expect, it } from 'vitest';
import { GrpcServiceEnv } from './grpc-service-env.js';
import { InvalidEnvironmentError, validateEnv } from './validate-env.js';

/** As a service's env class sets its own default port. */
class ExampleServiceEnv extends GrpcServiceEnv {
  override METRICS_PORT: number = 9499;
}

describe('GrpcServiceEnv', () => {
  it('defaults: metrics endpoint off, on every interface once given a port', () => {
    expect(validateEnv(GrpcServiceEnv)({})).toMatchObject({
      METRICS_HOST: '0.0.0.0',
      METRICS_PORT: 0,
    });
  });

  it("keeps a service's own default port, and reads METRICS_PORT as a number", () => {
    const validate = validateEnv(ExampleServiceEnv);
    expect(validate({}).METRICS_PORT).toBe(9499);
    expect(validate({ METRICS_PORT: '9555' }).METRICS_PORT).toBe(9555);
    expect(validate({ METRICS_PORT: '0' }).METRICS_PORT).toBe(0);
  });

  it.each(['-1', '65536', '1.5', 'metrics'])(
    'rejects METRICS_PORT=%s naming the variable, also with a default of its own',
    (raw) => {
      for (const schema of [GrpcServiceEnv, ExampleServiceEnv]) {
        expect(() => validateEnv(schema)({ METRICS_PORT: raw })).toThrow(InvalidEnvironmentError);
        expect(() => validateEnv(schema)({ METRICS_PORT: raw })).toThrow(/METRICS_PORT=/);
      }
    },
  );
});
