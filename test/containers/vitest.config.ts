import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

// The suite's projects split its own files; this config runs one file of its own.
const { projects: _suiteProjects, ...test } = base.test!;

/** `npm run test:containers` only (test/containers/run.sh): the stack in containers, in order. */
export default defineConfig({
  ...base,
  test: {
    ...test,
    include: ['test/containers/**/*.containers-spec.ts'],
    testTimeout: 180_000,
    hookTimeout: 900_000,
  },
});
