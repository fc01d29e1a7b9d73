/**
 * `npm run docs:config`: writes docs/configuration.md from the apps' env
 * classes, the one place each variable is declared: its name and validators
 * and default from the class at run time, its meaning from the doc comment
 * above it (read from the source with the TypeScript parser).
 * `--check` writes nothing and exits 1 when the file differs (a test runs it).
 */
import 'reflect-metadata';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassConstructor } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
import ts from 'typescript';
import { envVariables, isSecretEnv } from '#config';
import { CheeseServiceEnv } from '../apps/cheese-service/src/config/cheese-service.env.js';
import { GatewayEnv } from '../apps/gateway/src/config/gateway.env.js';
import { SoccerServiceEnv } from '../apps/soccer-service/src/config/soccer-service.env.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TARGET = 'docs/configuration.md';

const APP_ENVS: Record<string, ClassConstructor<object>> = {
  'cheese-service': CheeseServiceEnv,
  'soccer-service': SoccerServiceEnv,
  gateway: GatewayEnv,
};
const APPS = Object.keys(APP_ENVS);

/** Where env classes are declared. */
const SOURCE_DIRS = [
  'libs/config/src',
  'apps/cheese-service/src/config',
  'apps/soccer-service/src/config',
  'apps/gateway/src/config',
];

/** How each validator reads in the "accepts" column; a new one must be named here. */
const VALIDATOR_LABELS: Record<string, (constraints: unknown[]) => string | undefined> = {
  isInt: () => 'integer',
  min: ([n]) => `≥ ${String(n)}`,
  max: ([n]) => `≤ ${String(n)}`,
  isIn: ([values]) => `one of ${(values as string[]).map((v) => `\`${v}\``).join(', ')}`,
  isBoolean: () => '`true` or `false`',
  isString: () => 'text',
  isUrl: () => 'http(s) URL',
  isReadableFile: () => 'readable file',
  isExecutableFile: () => 'executable file',
  isGrpcTarget: () => 'gRPC target',
  isRedisUrl: () => '`redis://` or `rediss://` URL',
  isApiKeyList: () => 'comma-separated keys, each ≥ 16 characters',
  isOriginList: () => 'comma-separated origins, or `*`',
  isCidrList: () => 'comma-separated IPs or CIDRs',
  requiresEnv: (names) => `with ${(names as string[]).map((n) => `\`${n}\``).join(' and ')}`,
  matches: () => 'text',
  minLength: ([n]) => `≥ ${String(n)} characters`,
  isOptional: () => undefined,
};

interface Declaration {
  /** The doc comment, on one line. */
  doc: string;
  /** Position in its class's file, for ordering. */
  order: number;
}

/** Every property doc comment of every env class: `Class.PROPERTY` → declaration. */
function declarations(): Map<string, Declaration> {
  const found = new Map<string, Declaration>();
  let order = 0;
  for (const dir of SOURCE_DIRS) {
    for (const file of readdirSync(join(ROOT, dir)).sort()) {
      if (!file.endsWith('.ts') || file.endsWith('.spec.ts')) continue;
      const text = readFileSync(join(ROOT, dir, file), 'utf8');
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      source.forEachChild((node) => {
        if (!ts.isClassDeclaration(node) || !node.name) return;
        for (const member of node.members) {
          if (!ts.isPropertyDeclaration(member) || !ts.isIdentifier(member.name)) continue;
          const doc = ts
            .getJSDocCommentsAndTags(member)
            .filter(ts.isJSDoc)
            .map((d) => ts.getTextOfJSDocComment(d.comment) ?? '')
            .join(' ');
          found.set(`${node.name.text}.${member.name.text}`, {
            doc: doc.replace(/\s+/g, ' ').trim(),
            order: order++,
          });
        }
      });
    }
  }
  return found;
}

/** The declaration of `name` nearest to `schema` in its class chain (an override's own comment first). */
function declarationOf(
  all: Map<string, Declaration>,
  schema: ClassConstructor<object>,
  name: string,
): Declaration | undefined {
  let owner: unknown = schema;
  let first: Declaration | undefined;
  for (; typeof owner === 'function' && owner !== Function.prototype;) {
    const found = all.get(`${(owner as { name: string }).name}.${name}`);
    if (found?.doc) return found;
    first ??= found;
    owner = Object.getPrototypeOf(owner);
  }
  return first;
}

function accepts(schema: ClassConstructor<object>, name: string): string {
  const metadata = getMetadataStorage()
    .getTargetValidationMetadatas(schema, '', true, false)
    .filter((m) => m.propertyName === name);
  const labels = new Set<string>();
  for (const m of metadata) {
    const label = VALIDATOR_LABELS[m.name ?? m.type];
    if (!label) throw new Error(`${name}: no label for validator ${m.name ?? m.type}`);
    const text = label((m.constraints ?? []) as unknown[]);
    if (text) labels.add(text);
  }
  // class-validator keeps decorators bottom-up; the type reads better first.
  return [...labels].reverse().join(', ');
}

function formatDefault(value: unknown): string {
  if (value === undefined) return 'unset';
  if (Array.isArray(value)) return value.length ? `\`${value.join(',')}\`` : 'unset';
  return `\`${JSON.stringify(value).replace(/^"|"$/g, '')}\``;
}

/** `docs/x.md` mentions become links relative to docs/. */
function linkDocs(text: string): string {
  return text.replace(/\bdocs\/([a-z-]+\.md)/g, '[$1]($1)').replace(/\|/g, '\\|');
}

interface Row {
  name: string;
  apps: string[];
  accepts: string;
  defaults: string;
  /** Each doc comment, with the apps whose class has it (REDIS_URL means one thing per app). */
  meanings: Map<string, string[]>;
  order: number;
}

function rows(): Row[] {
  const all = declarations();
  const byName = new Map<string, Row>();
  for (const app of APPS) {
    const schema = APP_ENVS[app];
    const instance = new schema() as Record<string, unknown>;
    for (const name of envVariables(schema)) {
      const declaration = declarationOf(all, schema, name);
      if (!declaration?.doc) throw new Error(`${schema.name}.${name} has no doc comment`);
      const secret = isSecretEnv(instance, name) ? ', a secret' : '';
      const value = formatDefault(instance[name]);
      const row = byName.get(name);
      if (!row) {
        byName.set(name, {
          name,
          apps: [app],
          accepts: accepts(schema, name) + secret,
          defaults: value,
          meanings: new Map([[declaration.doc, [app]]]),
          order: declaration.order,
        });
        continue;
      }
      row.apps.push(app);
      const same = row.meanings.get(declaration.doc);
      if (same) same.push(app);
      else row.meanings.set(declaration.doc, [app]);
      if (!row.defaults.split(', ').some((d) => d.startsWith(value))) {
        const first = row.apps.length === 2 ? `${row.defaults} (${row.apps[0]})` : row.defaults;
        row.defaults = `${first}, ${value} (${app})`;
      }
    }
  }
  return [...byName.values()].sort((a, b) => a.order - b.order);
}

function table(section: Row[]): string {
  const lines = ['| variable | accepts | default | meaning |', '| --- | --- | --- | --- |'];
  for (const r of section) {
    const meanings = [...r.meanings].map(([doc, apps]) =>
      r.meanings.size === 1 ? linkDocs(doc) : `${apps.join(', ')}: ${linkDocs(doc)}`,
    );
    lines.push(`| \`${r.name}\` | ${r.accepts} | ${r.defaults} | ${meanings.join('<br>')} |`);
  }
  return lines.join('\n');
}

function markdown(): string {
  const all = rows();
  const sections: [string, (r: Row) => boolean][] = [
    ['Every app', (r) => r.apps.length === APPS.length],
    [
      'The services (cheese-service, soccer-service)',
      (r) => r.apps.length === 2 && !r.apps.includes('gateway'),
    ],
    ...APPS.map((app): [string, (r: Row) => boolean] => [
      app,
      (r) => r.apps.length === 1 && r.apps[0] === app,
    ]),
    ['Shared by some apps', (r) => r.apps.length === 2 && r.apps.includes('gateway')],
  ];
  const parts = [
    '# Configuration',
    '',
    '<!-- Generated by `npm run docs:config` from the env classes (their validators, defaults and doc comments); do not edit. -->',
    '',
    'Every app reads its environment once, at start-up, and checks it against its env class',
    '(`apps/*/src/config/*.env.ts`, built on `libs/config`). A bad value stops the app with',
    'exit code 1 and one line per bad variable naming it; an empty value (`VAR=`) is the same',
    'as unset, so the default applies. The first log line, `configuration`, shows the value',
    'each variable has (secrets hidden).',
  ];
  for (const [title, belongs] of sections) {
    const section = all.filter(belongs);
    if (section.length === 0) continue;
    parts.push('', `## ${title}`, '', table(section));
  }
  parts.push(
    '',
    '## Outside the apps',
    '',
    '`npm run certs` writes the development CA and certificates to `CERTS_DIR` (default',
    '`./certs`). `npm start` passes each service its own default `METRICS_PORT`, and the',
    "gateway the services' ports unless `CHEESE_GRPC_URL` or `SOCCER_GRPC_URL` is set.",
    '',
  );
  return parts.join('\n');
}

/** The generated text, formatted as the repository formats Markdown. */
async function generated(): Promise<string> {
  const prettier = await import('prettier');
  const options = await prettier.resolveConfig(join(ROOT, TARGET));
  return prettier.format(markdown(), { ...options, filepath: join(ROOT, TARGET) });
}

const text = await generated();
if (process.argv.includes('--check')) {
  const file = process.argv[process.argv.indexOf('--check') + 1] ?? join(ROOT, TARGET);
  if (readFileSync(file, 'utf8') !== text) {
    console.error(`${TARGET} is stale: run npm run docs:config`);
    process.exit(1);
  }
} else {
  writeFileSync(join(ROOT, TARGET), text);
  console.log(`wrote ${TARGET}`);
}
