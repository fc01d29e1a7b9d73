import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

/** `npm run test:containers` only (test/containers/run.sh): the stack in containers, in order. */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/containers/**/*.containers-spec.ts'],
    testTimeout: 180_000,
    hookTimeout: 900_000,
  },
});
