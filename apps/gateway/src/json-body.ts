/**
 * Deepest nesting of objects and arrays a JSON body may have. The API's
 * bodies are flat; validation (class-transformer) recurses once per level
 * and overflows the stack near 1,300, so a 3 KB body could make a 500.
 */
export const MAX_JSON_DEPTH = 32;

/** True when `text` nests objects/arrays deeper than `max` (strings are skipped). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
