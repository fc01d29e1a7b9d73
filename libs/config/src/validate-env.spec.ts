import { describe, expect, it } from 'vitest';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { InvalidEnvironmentError, validateEnv } from './validate-env.js';

class ExampleEnv {
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT: number = 4000;

  @IsString()
  HOST: string = '0.0.0.0';
}

describe('validateEnv', () => {
  const validate = validateEnv(ExampleEnv);

  it('fills defaults and converts numbers', () => {
    expect(validate({})).toMatchObject({ PORT: 4000, HOST: '0.0.0.0' });
    expect(validate({ PORT: '8080' }).PORT).toBe(8080);
  });

  it.each(['abc', '0', '70000', '1.5'])('rejects PORT=%s naming the variable', (value) => {
    expect(() => validate({ PORT: value })).toThrow(InvalidEnvironmentError);
    expect(() => validate({ PORT: value })).toThrow(
      new RegExp(`PORT="${value.replace('.', '\\.')}"`),
    );
  });

  it.each(['', ' ', '\t'])('reads PORT=%j as unset: the default, not 0', (value) => {
    expect(validate({ PORT: value, HOST: value })).toMatchObject({ PORT: 4000, HOST: '0.0.0.0' });
  });
});
