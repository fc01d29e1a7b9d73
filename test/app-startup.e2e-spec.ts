import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassConstructor } from 'class-transformer';
import { afterAll, describe, expect, it } from 'vitest';
import { describeEnv, envVariables, InvalidEnvironmentError, validateEnv } from '#config';
import { APPS, AppProcess, freePort, type AppName } from '#launcher';
import { CheeseServiceEnv } from '../apps/cheese-service/src/config/cheese-service.env.js';
import { GatewayEnv } from '../apps/gateway/src/config/gateway.env.js';
import { SoccerServiceEnv } from '../apps/soccer-service/src/config/soccer-service.env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Each app and the env class its ConfigModule validates with. */
const ENV_CLASSES: Record<AppName, ClassConstructor<object>> = {
  'cheese-service': CheeseServiceEnv,
  'soccer-service': SoccerServiceEnv,
  gateway: GatewayEnv,
};
const APP_NAMES = Object.keys(APPS) as AppName[];

const dir = mkdtempSync(join(tmpdir(), 'app-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** This process's environment without any variable `app` reads, plus `env`. */
function appEnv(app: AppName, env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of envVariables(ENV_CLASSES[app])) delete base[name];
  return { ...base, ...env };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `app` to its exit (a start that fails), or kills it once `until` matches its stdout. */
async function run(
  app: AppName,
  env: Record<string, string>,
  until?: (stdout: string) => boolean,
): Promise<Run> {
  const child = spawn(process.execPath, [...APPS[app].nodeArgs, APPS[app].entry], {
    cwd: ROOT,
    env: appEnv(app, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: Run = { code: null, stdout: '', stderr: '' };
  const exited = once(child, 'exit');
  child.stderr.on('data', (d: Buffer) => (result.stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    result.stdout += d.toString();
    if (until?.(result.stdout)) child.kill('SIGKILL');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  result.code = code;
  return result;
}

/** The JSON log lines of some output; fails on any line that is not one. */
function jsonLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      expect(line, 'a log line that is not JSON').toMatch(/^\{.*\}$/);
      return JSON.parse(line) as Record<string, unknown>;
    });
}

/** The `config` of an app's `configuration` start-up line. */
const configLine = (stdout: string) =>
  jsonLines(stdout).find((line) => line.msg === 'configuration')?.config;

describe('an empty variable is an unset one, for every variable of every app', () => {
  // One start per app with every variable blank: dropping blank values is per variable
  // (validateEnv), so one start covers each, and the variables that depend on one
  // another (a key needs its certificate) are blank together, as a compose file has them.
  it.each(APP_NAMES)(
    '%s with each of its variables set to "" runs with the defaults',
    async (app) => {
      const schema = ENV_CLASSES[app];
      const names = envVariables(schema);
      expect(names).toContain('LOG_LEVEL');
      const blank = Object.fromEntries(names.map((name) => [name, '']));
      // The process reads the env only; the log line says what it made of it. The
      // default ports are taken only for a moment: the line comes before listening.
      const { stdout, stderr } = await run(app, blank, (out) => configLine(out) !== undefined);
      const expected = JSON.parse(JSON.stringify(describeEnv(schema, new schema()))) as object;
      expect(configLine(stdout), stderr).toEqual(expected);
    },
    90_000,
  );

  it.each(APP_NAMES)('every number and switch of %s, when bad, is named in the error', (app) => {
    const schema = ENV_CLASSES[app];
    const validate = validateEnv(schema);
    const typed = envVariables(schema).filter((name) => {
      const type: unknown = Reflect.getMetadata('design:type', schema.prototype as object, name);
      return type === Number || type === Boolean;
    });
    expect(typed.length).toBeGreaterThan(5);
    for (const name of typed) {
      expect(() => validate({ [name]: 'x1' }), name).toThrow(InvalidEnvironmentError);
      expect(() => validate({ [name]: 'x1' }), name).toThrow(`${name}="x1":`);
    }
  });
});

describe('start-up errors: one plain line per bad variable, exit 1', () => {
  /** What every failed start must look like; returns the lines of stderr. */
  function expectCleanFailure({ code, stdout, stderr }: Run): string[] {
    expect(code, stderr).toBe(1);
    expect(stderr).not.toContain('\u001b['); // no colour
    expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
    // Whatever reached stdout is JSON log lines, none of them the error again.
    for (const line of jsonLines(stdout)) expect(line.level).toBeLessThan(50);
    return stderr.trimEnd().split('\n');
  }

  it.each(APP_NAMES)('%s: a bad port and a bad log level', async (app) => {
    const port = APPS[app].portVar;
    const lines = expectCleanFailure(await run(app, { LOG_LEVEL: 'loud', [port]: '70000' }));
    expect(lines).toEqual([
      'Invalid environment:',
      expect.stringMatching(new RegExp(`^  ${port}="70000": ${port} must not be greater than 65535$`)),
      expect.stringMatching(/^ {2}LOG_LEVEL="loud": LOG_LEVEL must be one of the following values: /),
    ]);
  }, 90_000); // prettier-ignore

  it('soccer-service: FFMPEG_PATH=/nonexistent', async () => {
    const lines = expectCleanFailure(await run('soccer-service', { FFMPEG_PATH: '/nonexistent' }));
    expect(lines).toEqual([
      'Invalid environment:',
      '  FFMPEG_PATH="/nonexistent": must name an existing file (not found)',
    ]);
  }, 90_000);

  it.each(['cheese-service', 'soccer-service'] as const)(
    '%s: a certificate file that holds no certificate (found while Nest builds the app)',
    async (app) => {
      const junk = join(dir, 'junk.pem');
      writeFileSync(junk, 'not a certificate\n');
      const port = await freePort();
      const lines = expectCleanFailure(
        await run(app, {
          [APPS[app].portVar]: String(port),
          GRPC_TLS_CERT: junk,
          GRPC_TLS_KEY: junk,
        }),
      );
      expect(lines).toEqual([`GRPC_TLS_CERT=${junk}: not a PEM certificate`]);
    },
    90_000,
  );
});

const HOST_VARIABLES: Record<AppName, string> = {
  'cheese-service': 'CHEESE_GRPC_HOST',
  'soccer-service': 'SOCCER_GRPC_HOST',
  gateway: 'GATEWAY_HTTP_HOST',
};

describe("a port another process listens on: the app's start fails, it does not look ready", () => {
  it.each(APP_NAMES)(
    '%s',
    async (app) => {
      const port = await freePort();
      const stranger = createServer().listen(port, '127.0.0.1');
      await once(stranger, 'listening');
      try {
        const outcome = await AppProcess.start(app, {
          port,
          env: { [HOST_VARIABLES[app]]: '127.0.0.1', MEDIA_DIR: join(dir, 'media') },
        }).then(
          // Not left running: it would bind the port once the stranger has gone.
          async (started) => `looked ready (exit ${await started.stop()})`,
          (error: Error) => error.message,
        );
        expect(outcome).toContain(`EADDRINUSE: address already in use 127.0.0.1:${port}`);
      } finally {
        stranger.close();
      }
    },
    90_000,
  );
});

describe('logs are JSON from the first line when stdout is not a terminal', () => {
  it.each(APP_NAMES)(
    '%s',
    async (app) => {
      const started = await AppProcess.start(app, {
        port: await freePort(),
        readyTimeoutMs: 60_000,
        env: { [HOST_VARIABLES[app]]: '127.0.0.1', MEDIA_DIR: join(dir, 'media') },
      });
      expect(await started.stop()).toBe('0');
      const lines = jsonLines(started.logs);
      expect(lines[0]).toMatchObject({ msg: 'configuration', app });
      expect(lines.map((l) => l.msg)).toContain('Starting Nest application...');
    },
    90_000,
  );
});
