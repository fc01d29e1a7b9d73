/** Variables whose values are secrets, per env class prototype. */
const secretVariables = new WeakMap<object, Set<string>>();

/**
 * Marks a variable as a secret (a token, a password): a start-up error about
 * it names the variable but never shows its value.
 */
export function SecretEnv(): PropertyDecorator {
  return (target, property) => {
    const names = secretVariables.get(target) ?? new Set<string>();
    names.add(String(property));
    secretVariables.set(target, names);
  };
}

/** Whether `property` of `env` (an env class instance) was marked with `@SecretEnv()`. */
export function isSecretEnv(env: object, property: string): boolean {
  let proto = Object.getPrototypeOf(env) as object | null;
  for (; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    if (secretVariables.get(proto)?.has(property)) return true;
  }
  return false;
}
