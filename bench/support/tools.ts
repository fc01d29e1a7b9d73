import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { findMediaTools } from '../../apps/soccer-service/src/media/media-tools.js';
import { ROOT } from './paths.js';

const run = promisify(execFile);

/** The system interpreter, where Debian's python3-grpcio / python3-opencv live. */
export const PYTHON = '/usr/bin/python3';

/** The tools the references need; a missing one skips its reference with a printed line. */
export interface Tools {
  h2load?: string;
  ffmpeg?: string;
  ffprobe?: string;
  /** python3 with grpc and grpc_tools (the talk's cheese server). */
  pythonGrpc: boolean;
  /** ...and cv2 + numpy (the talk's soccer server). */
  pythonOpenCv: boolean;
}

async function works(file: string, args: string[]): Promise<boolean> {
  return run(file, args, { timeout: 20_000 }).then(
    () => true,
    () => false,
  );
}

export async function findTools(): Promise<Tools> {
  // The very lookup soccer-service does: FFMPEG_PATH/FFPROBE_PATH, PATH, the npm packages.
  const media = findMediaTools(
    process.env.FFMPEG_PATH || undefined,
    process.env.FFPROBE_PATH || undefined,
  );
  const h2load = ['/usr/bin/h2load', '/usr/local/bin/h2load'].find((p) => existsSync(p));
  const pythonGrpc = await works(PYTHON, ['-c', 'import grpc, grpc_tools.protoc']);
  const pythonOpenCv = pythonGrpc && (await works(PYTHON, ['-c', 'import cv2, numpy']));
  return { h2load, ffmpeg: media.ffmpeg, ffprobe: media.ffprobe, pythonGrpc, pythonOpenCv };
}

/** What a missing tool means for the run, one line each (printed, and in the report). */
export function missingTools(tools: Tools): string[] {
  const lines: string[] = [];
  if (!tools.h2load)
    lines.push(
      'h2load not found (apt-get install nghttp2-client): unary and direct-gRPC runs skipped',
    );
  if (!tools.ffmpeg || !tools.ffprobe)
    lines.push('ffmpeg/ffprobe not found: Watch, upload and file references skipped');
  if (!tools.pythonGrpc)
    lines.push(
      `${PYTHON} cannot import grpc/grpc_tools (python3-grpcio, python3-grpc-tools): the talk's Python servers skipped`,
    );
  else if (!tools.pythonOpenCv)
    lines.push(
      `${PYTHON} cannot import cv2/numpy (python3-opencv): the talk's OpenCV Watch skipped`,
    );
  return lines;
}

function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'absent';
  }
}

async function firstLine(file: string | undefined, args: string[]): Promise<string> {
  if (!file) return 'absent';
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 20_000 });
    return (stdout || stderr).trim().split('\n')[0];
  } catch {
    return 'absent';
  }
}

/** The machine and the versions a reader needs to compare runs. */
export async function machineInfo(tools: Tools): Promise<Record<string, string>> {
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  const os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(
    existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '',
  )?.[1];
  const python = tools.pythonGrpc
    ? await firstLine(PYTHON, [
        '-c',
        'import sys, grpc; v = sys.version.split()[0]\n' +
          'try:\n import cv2; c = cv2.__version__\nexcept Exception: c = "absent"\n' +
          'print(f"Python {v}, grpcio {grpc.__version__}, OpenCV {c}")',
      ])
    : 'absent';
  return {
    CPU: `${cpuModel ?? 'unknown'} × ${cpus().length} cores`,
    RAM: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    OS: `${os ?? 'Linux'} (kernel ${release()})`,
    Node: process.version,
    npm: await firstLine('npm', ['--version']),
    '@grpc/grpc-js': packageVersion('@grpc/grpc-js'),
    '@nestjs/core': packageVersion('@nestjs/core'),
    '@nestjs/microservices': packageVersion('@nestjs/microservices'),
    fastify: packageVersion('fastify'),
    autocannon: packageVersion('autocannon'),
    h2load: await firstLine(tools.h2load, ['--version']),
    ffmpeg: (await firstLine(tools.ffmpeg, ['-version'])).replace(/ Copyright.*/, ''),
    python,
  };
}
