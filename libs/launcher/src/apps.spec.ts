import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APPS, NODE_ARGS } from './apps.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('APPS', () => {
  it.each(Object.entries(APPS))(
    'npm run start:%s runs the entry the tests and npm start run',
    (name, { entry }) => {
      expect(pkg.scripts[`start:${name}`]).toBe(`node ${NODE_ARGS.join(' ')} ${entry}`);
    },
  );
});
