import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';
import { isSecretEnv } from './secret-env.js';

/** Thrown at start-up when an environment variable has a bad value. */
export class InvalidEnvironmentError extends Error {
  override name = 'InvalidEnvironmentError';
}

/**
 * Builds the `validate` function of `ConfigModule.forRoot`: the environment
 * becomes an instance of `schema` (defaults filled in, numbers converted) or
 * start-up stops with a message naming every bad variable (with its value,
 * unless it is a `@SecretEnv()`).
 */
export function validateEnv<T extends object>(schema: ClassConstructor<T>) {
  return (raw: Record<string, unknown>): T => {
    const env = plainToInstance(schema, raw, {
      enableImplicitConversion: true,
      exposeDefaultValues: true,
    });
    const errors = validateSync(env, { forbidUnknownValues: true });
    if (errors.length > 0) {
      const lines = errors.map(
        (e) =>
          `  ${e.property}=${isSecretEnv(env, e.property) ? '(secret, not shown)' : JSON.stringify(raw[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`,
      );
      throw new InvalidEnvironmentError(`Invalid environment:\n${lines.join('\n')}`);
    }
    return env;
  };
}
