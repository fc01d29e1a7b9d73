import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';
import { isSecretEnv } from './secret-env.js';

/**
 * A start-up error in the configuration (a bad variable, a certificate that
 * is not one): each app reports it as its message alone, one line per
 * problem naming the variable, with no stack trace, and exits 1.
 */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** Thrown at start-up when an environment variable has a bad value. */
export class InvalidEnvironmentError extends ConfigurationError {
  override name = 'InvalidEnvironmentError';
}

/**
 * The environment without its empty or blank variables. Compose files and
 * Kubernetes ConfigMaps pass `VAR=` for "not set" all the time, and an empty
 * string would otherwise convert to 0 or "" and switch a protection off; so
 * blank means unset, before any conversion, and the default applies.
 */
export function withoutBlankValues(raw: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(raw).filter(([, value]) => !(typeof value === 'string' && value.trim() === '')),
  );
}

/**
 * Builds the `validate` function of `ConfigModule.forRoot`: the environment
 * (blank values dropped, see `withoutBlankValues`) becomes an instance of
 * `schema` (defaults filled in, numbers converted) or start-up stops with a
 * message naming every bad variable (with its value, unless it is a
 * `@SecretEnv()`). Use it with `skipProcessEnv: true`, so that
 * `ConfigService.get` answers from this instance only and never falls back
 * to the raw variable.
 */
export function validateEnv<T extends object>(schema: ClassConstructor<T>) {
  return (given: Record<string, unknown>): T => {
    const raw = withoutBlankValues(given);
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
