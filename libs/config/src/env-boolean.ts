import { Transform } from 'class-transformer';

const WORDS = new Map([
  ['true', true],
  ['false', false],
]);

/**
 * Reads a boolean variable as exactly `true` or `false` (any case). Implicit
 * conversion alone would make any non-empty string true, "false" included;
 * this reads the raw value instead and leaves anything else as it came, for
 * `@IsBoolean()` to reject with the variable's name.
 */
export function EnvBoolean(): PropertyDecorator {
  return Transform(({ key, obj }: { key: string; obj: Record<string, unknown> }) => {
    const raw = obj[key];
    if (typeof raw === 'boolean') return raw;
    if (typeof raw !== 'string') return raw;
    return WORDS.get(raw.trim().toLowerCase()) ?? raw;
  });
}
