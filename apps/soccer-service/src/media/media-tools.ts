import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary shipped by an optional registry package such as @ffmpeg-installer/ffmpeg. */
function fromInstallerPackage(pkg: string): string | undefined {
  try {
    const { path } = require(pkg) as { path?: string };
    return path && isExecutable(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

export interface MediaTools {
  ffmpeg?: string;
  ffprobe?: string;
}

/**
 * Finds ffmpeg and ffprobe: the configured path (the env class checks that
 * it can be run), else the system's on PATH, else the ones shipped by the
 * optional npm packages, so `npm ci` alone gives the tools. Missing tools are
 * not fatal: without ffprobe, file matches answer FAILED_PRECONDITION and
 * synthetic ones still play; without ffmpeg, files decode only in process
 * and a rotated one answers FAILED_PRECONDITION.
 */
export function findMediaTools(ffmpegPath?: string, ffprobePath?: string): MediaTools {
  const ffmpeg = ffmpegPath || onPath('ffmpeg') || fromInstallerPackage('@ffmpeg-installer/ffmpeg');
  const besideFfmpeg = ffmpeg ? join(dirname(ffmpeg), 'ffprobe') : undefined;
  const ffprobe =
    ffprobePath ||
    (besideFfmpeg && isExecutable(besideFfmpeg) ? besideFfmpeg : undefined) ||
    onPath('ffprobe') ||
    fromInstallerPackage('@ffprobe-installer/ffprobe');
  return { ffmpeg, ffprobe };
}
