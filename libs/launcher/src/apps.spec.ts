import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APPS } from './apps.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('APPS', () => {
  it.each(Object.entries(APPS))(
    'npm run start:%s runs the entry the tests and npm start run',
    (name, { entry, nodeArgs }) => {
      expect(pkg.scripts[`start:${name}`]).toBe(`node ${nodeArgs.join(' ')} ${entry}`);
    },
  );
});
