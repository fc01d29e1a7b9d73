import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // SWC, not esbuild/oxc: Nest's dependency injection needs decorator metadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    // The "source" side of package.json "imports"; the built apps use dist.
    alias: {
      '#proto': src('./libs/proto/src/index.ts'),
      '#config': src('./libs/config/src/index.ts'),
      '#observability': src('./libs/observability/src/index.ts'),
      '#launcher': src('./libs/launcher/src/index.ts'),
    },
  },
  test: {
    setupFiles: ['reflect-metadata'],
    include: [
      'apps/**/*.spec.ts',
      'libs/**/*.spec.ts',
      'apps/*/test/**/*.e2e-spec.ts',
      'test/**/*.e2e-spec.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
