import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile as execFileCb } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AppProcess, freePort } from '#launcher';

const execFile = promisify(execFileCb);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
// Debian's python3-grpcio and python3-grpc-tools, and protobuf-compiler's protoc
// (grpc_tools' protoc 3.5 cannot read error_details.proto's proto3 `optional`).
const PYTHON = '/usr/bin/python3';
const PROTOC = '/usr/bin/protoc';
const GOOGLE_PROTOS = join(ROOT, 'node_modules/google-proto-files');

interface RichError {
  code: string;
  details_text: string;
  status_code: number;
  status_message: string;
  details: Array<{ type: string; fields: Record<string, unknown> }>;
}

interface Report {
  order: { type: string; age: number };
  frames: string[];
  unknown_type: RichError;
  no_match: RichError;
  bad_id: RichError;
}

describe(
  'a Python grpcio client (gzip-compressed messages) reads the rich errors',
  { timeout: 120_000 },
  () => {
    let cheese: AppProcess | undefined;
    let soccer: AppProcess | undefined;
    let stubs: string | undefined;
    let report: Report;

    beforeAll(async () => {
      stubs = await mkdtemp(join(tmpdir(), 'rich-errors-py-'));
      // Each proto from its own folder, so the stubs import each other flat.
      for (const proto of ['cheesefarm/cheese.proto', 'stream/stream.proto']) {
        const [dir, file] = proto.split('/');
        await execFile(PYTHON, [
          '-m',
          'grpc_tools.protoc',
          `-I${join(ROOT, 'libs/proto/proto', dir)}`,
          `--python_out=${stubs}`,
          `--grpc_python_out=${stubs}`,
          file,
        ]);
      }
      await execFile(PROTOC, [
        `-I${GOOGLE_PROTOS}`,
        `--python_out=${stubs}`,
        'google/rpc/status.proto',
        'google/rpc/error_details.proto',
      ]);
      const [cheesePort, soccerPort] = await Promise.all([freePort(), freePort()]);
      [cheese, soccer] = await Promise.all([
        AppProcess.start('cheese-service', {
          port: cheesePort,
          readyTimeoutMs: 60_000,
          env: { CHEESE_GRPC_HOST: '127.0.0.1' },
        }),
        AppProcess.start('soccer-service', {
          port: soccerPort,
          readyTimeoutMs: 60_000,
          env: { SOCCER_GRPC_HOST: '127.0.0.1', MEDIA_DIR: stubs },
        }),
      ]);
      const { stdout } = await execFile(
        PYTHON,
        [
          join(ROOT, 'test/python/rich_errors.py'),
          `127.0.0.1:${cheesePort}`,
          `127.0.0.1:${soccerPort}`,
          stubs,
        ],
        { timeout: 60_000 },
      );
      report = JSON.parse(stdout) as Report;
    }, 180_000);

    afterAll(async () => {
      await Promise.all([cheese?.stop(), soccer?.stop()]);
      if (stubs) await rm(stubs, { recursive: true, force: true });
    });

    it('gzip-compressed requests are served (Order, Watch)', () => {
      expect(report.order.type).toBe('BRIE');
      expect(report.frames).toEqual(['(360, 640, 3)', '(360, 640, 3)', '(360, 640, 3)']);
    });

    it('INVALID_ARGUMENT: the same code and message as before, plus ErrorInfo and BadRequest', () => {
      const error = report.unknown_type;
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details_text).toMatch(/^unknown cheese type 42; valid types: EMMENTAL \(0\)/);
      expect(error.status_code).toBe(3);
      expect(error.status_message).toBe(error.details_text);
      expect(error.details).toEqual([
        {
          type: 'google.rpc.ErrorInfo',
          fields: {
            reason: 'UNKNOWN_CHEESE_TYPE',
            domain: 'cheesefarm.CheeseService',
            metadata: { type: '42' },
          },
        },
        {
          type: 'google.rpc.BadRequest',
          fields: { fieldViolations: [{ field: 'type', description: error.details_text }] },
        },
      ]);
    });

    it('a bad match id: BadRequest on the field `id`', () => {
      expect(report.bad_id.code).toBe('INVALID_ARGUMENT');
      expect(report.bad_id.details.map((d) => d.type)).toEqual([
        'google.rpc.ErrorInfo',
        'google.rpc.BadRequest',
      ]);
      expect(report.bad_id.details[1].fields).toMatchObject({
        fieldViolations: [{ field: 'id' }],
      });
    });

    it('NOT_FOUND: ResourceInfo names the match', () => {
      expect(report.no_match.code).toBe('NOT_FOUND');
      expect(report.no_match.details_text).toBe('no match no-such-match');
      expect(report.no_match.details[1]).toEqual({
        type: 'google.rpc.ResourceInfo',
        fields: {
          resourceType: 'match',
          resourceName: 'no-such-match',
          description: 'no built-in match and no no-such-match.mp4',
        },
      });
    });
  },
);
