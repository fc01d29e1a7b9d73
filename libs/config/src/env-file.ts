import { accessSync, constants, statSync } from 'node:fs';
import { registerDecorator, type ValidationArguments } from 'class-validator';

/** Why `path` cannot be used as a file (read, or run with `mode` X_OK), or undefined when it can. */
function fileProblem(path: unknown, mode: number = constants.R_OK): string | undefined {
  const what = mode === constants.X_OK ? 'an executable' : 'a readable';
  if (typeof path !== 'string' || path === '') return 'must be a file path';
  try {
    if (!statSync(path).isFile()) return 'must name a file (this is not a regular file)';
    accessSync(path, mode);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? 'must name an existing file (not found)'
      : `must name ${what} file (${code ?? String(err)})`;
  }
}

function fileDecorator(name: string, mode: number): PropertyDecorator {
  return (target, property) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: String(property),
      validator: {
        validate: (value: unknown) => fileProblem(value, mode) === undefined,
        defaultMessage: (args?: ValidationArguments) =>
          fileProblem(args?.value, mode) ?? 'must name a usable file',
      },
    });
}

/**
 * A path to a file this process can read now (a certificate, a key): checked
 * at start-up, so a wrong mount fails with the variable's name instead of an
 * obscure error at the first connection. Relative paths are from the working directory.
 */
export function IsReadableFile(): PropertyDecorator {
  return fileDecorator('isReadableFile', constants.R_OK);
}

/** A path to a program this process can run now (ffmpeg): checked at start-up, as IsReadableFile. */
export function IsExecutableFile(): PropertyDecorator {
  return fileDecorator('isExecutableFile', constants.X_OK);
}

/**
 * When this variable is set, each of `others` must be set too (a key needs
 * its certificate, a client CA needs a server certificate).
 */
export function RequiresEnv(...others: string[]): PropertyDecorator {
  return (target, property) =>
    registerDecorator({
      name: 'requiresEnv',
      target: target.constructor,
      propertyName: String(property),
      constraints: others,
      validator: {
        validate: (_value: unknown, args?: ValidationArguments) =>
          others.every((name) => (args?.object as Record<string, unknown>)[name] !== undefined),
        defaultMessage: (args?: ValidationArguments) => {
          const object = args?.object as Record<string, unknown>;
          const missing = others.filter((name) => object[name] === undefined);
          return `needs ${missing.join(' and ')} set as well`;
        },
      },
    });
}
