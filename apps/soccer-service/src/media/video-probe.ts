import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What ffprobe says about a video file's first video stream. */
export interface VideoInfo {
  /** The size it is shown at: the stored size, turned by `rotation`. */
  width: number;
  height: number;
  /**
   * Degrees the picture is turned when shown (0, 90, 180 or 270): phones
   * store portrait video as landscape frames with a display matrix saying so.
   */
  rotation: number;
  /** Native frame rate. */
  fps: number;
  /** Duration in ms; 0 when unknown. */
  durationMs: number;
}

/** Thrown when a file is not a video ffprobe can read. */
export class NotAVideoError extends Error {
  override name = 'NotAVideoError';
}

interface FfprobeJson {
  streams?: Array<{
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    side_data_list?: Array<{ rotation?: number }>;
  }>;
  format?: { duration?: string };
}

function rate(fraction: string | undefined): number {
  const [num, den] = (fraction ?? '0/1').split('/').map(Number);
  return den ? num / den : 0;
}

/** Reads size, frame rate and duration of `file` with ffprobe's JSON output. */
export async function probeVideo(
  ffprobe: string,
  file: string,
  timeoutMs = 15_000,
): Promise<VideoInfo> {
  let json: FfprobeJson;
  try {
    const { stdout } = await run(
      ffprobe,
      [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=width,height,avg_frame_rate,r_frame_rate:stream_side_data=rotation:format=duration',
        '-of',
        'json',
        file,
      ],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
    );
    json = JSON.parse(stdout) as FfprobeJson;
  } catch (err) {
    // ffprobe's own reason, for the caller: not the command line, nor the server's path.
    const { stderr, killed } = err as { stderr?: string; killed?: boolean };
    const reason = killed
      ? `ffprobe gave no answer within ${timeoutMs} ms`
      : (stderr?.trim().split('\n').at(-1)?.replaceAll(`${file}: `, '') ?? 'ffprobe failed');
    throw new NotAVideoError(`not a readable video: ${reason || 'ffprobe failed'}`);
  }
  const stream = json.streams?.[0];
  if (!stream?.width || !stream.height) throw new NotAVideoError('no video stream');
  const fps = rate(stream.avg_frame_rate) || rate(stream.r_frame_rate) || 25;
  const seconds = Number(json.format?.duration ?? 0);
  const rotation = quarterTurns(stream.side_data_list?.find((d) => d.rotation !== undefined));
  const turned = rotation === 90 || rotation === 270;
  return {
    width: turned ? stream.height : stream.width,
    height: turned ? stream.width : stream.height,
    rotation,
    fps,
    durationMs: Number.isFinite(seconds) ? Math.round(seconds * 1000) : 0,
  };
}

/** A display matrix's rotation as 0, 90, 180 or 270 degrees (ffprobe gives -90 for 270). */
function quarterTurns(sideData: { rotation?: number } | undefined): number {
  const degrees = Math.round((sideData?.rotation ?? 0) / 90) * 90;
  return ((degrees % 360) + 360) % 360;
}
