import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Test files that run after the rest, with nothing else of the suite beside them. */
const RUN_ALONE = ['apps/gateway/test/web-tabs.e2e-spec.ts'];

export default defineConfig({
  // SWC, not esbuild/oxc: Nest's dependency injection needs decorator metadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    // The "source" side of package.json "imports"; the built apps use dist.
    alias: {
      '#proto': src('./libs/proto/src/index.ts'),
      '#grpc': src('./libs/grpc/src/index.ts'),
      '#config': src('./libs/config/src/index.ts'),
      '#observability': src('./libs/observability/src/index.ts'),
      '#launcher': src('./libs/launcher/src/index.ts'),
    },
  },
  test: {
    setupFiles: ['reflect-metadata'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: [
            'apps/**/*.spec.ts',
            'libs/**/*.spec.ts',
            'apps/*/test/**/*.e2e-spec.ts',
            'test/**/*.e2e-spec.ts',
          ],
          exclude: [...configDefaults.exclude, ...RUN_ALONE],
        },
      },
      // Last, one file at a time: what these count per second of wall clock
      // (frames a browser tab plays) must not share the cores with another
      // file's load generators, only with whatever else the machine runs.
      {
        extends: true,
        test: {
          name: 'alone',
          include: RUN_ALONE,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
    // Generous: on a loaded machine an app takes tens of seconds to start, and
    // a test that passes never waits for these bounds, only a hung one does.
    testTimeout: 120_000,
    // Two test files at once, also on 2 cores (the default would be one): most of an e2e
    // test's time is spent waiting on the apps it started, so the suite takes about half.
    maxWorkers: 2,
    hookTimeout: 180_000,
    // What a poll waits for (a log line, a metric, a file gone) comes late on a
    // loaded machine; a poll that succeeds returns at once, so the bound is generous.
    expect: { poll: { timeout: 30_000 } },
  },
});
