import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './json-body.js';

describe('nestsDeeperThan', () => {
  it.each([
    ['{"type":"BRIE"}', 1, false],
    ['{"a":{"b":[1]}}', 3, false],
    ['{"a":{"b":[1]}}', 2, true],
    ['[[[[]]]]', 3, true],
    // Brackets inside strings, escaped quotes included, do not count.
    ['{"text":"[[[[{{{{\\"[[[["}', 1, false],
    ['"\\\\"[[', 1, true],
  ])('%s deeper than %d: %s', (text, max, deeper) => {
    expect(nestsDeeperThan(text, max)).toBe(deeper);
  });

  it('scans 10,000 levels without recursion', () => {
    expect(nestsDeeperThan('['.repeat(10_000) + ']'.repeat(10_000), 32)).toBe(true);
  });
});
