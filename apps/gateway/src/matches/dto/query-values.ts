import { Transform } from 'class-transformer';

/**
 * Query string integer: only plain digits become a number, so "", "1.5",
 * "1e3" or a repeated parameter stay as they are and fail `@IsInt()` with a
 * message, where `Number()` would have let "" pass as 0.
 */
export function QueryInt(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value,
  );
}

/** Query string boolean: "true" / "false"; anything else stays and fails `@IsBoolean()`. */
export function QueryBoolean(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  );
}
