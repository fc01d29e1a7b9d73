import type { ClassConstructor } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
import { isSecretEnv } from './secret-env.js';

/**
 * The variables an env class declares: every property with a class-validator
 * decorator (each variable has at least one, `@IsOptional()` counts),
 * inherited ones included, in name order.
 */
export function envVariables(schema: ClassConstructor<object>): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))].sort();
}

/**
 * The effective value of each variable of `schema` in `env` (a validated
 * instance), for the one start-up log line that says how an app is
 * configured: secrets as "(secret)", unset variables left out.
 */
export function describeEnv<T extends object>(
  schema: ClassConstructor<T>,
  env: T,
): Record<string, unknown> {
  const values = env as Record<string, unknown>;
  const described: Record<string, unknown> = {};
  for (const name of envVariables(schema)) {
    const value = values[name];
    if (value === undefined) continue;
    described[name] = isSecretEnv(env, name) ? '(secret)' : value;
  }
  return described;
}
