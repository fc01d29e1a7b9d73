import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInt } from './query-values.js';

/** Frame rate browsers get unless they ask: real time for the 25 fps matches. */
export const DEFAULT_WATCH_FPS = 25;

/** Query of `GET /v1/matches/:id/stream.mjpeg`. */
export class MjpegQuery {
  /** Frames per second, paced by soccer-service; 0 = as fast as this viewer reads. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(0)
  @Max(120)
  fps: number = DEFAULT_WATCH_FPS;

  /** Stop after this many frames; 0 = the whole match. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  maxFrames: number = 0;

  /** JPEG quality 1-100; unset = soccer-service's default. */
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(100)
  quality?: number;
}

/** Query of `GET /v1/matches/:id/watch` (SSE). */
export class WatchQuery extends MjpegQuery {
  /** JPEG (what a browser can show) unless raw BGR pixels are asked for. */
  @IsOptional()
  @IsIn(['jpeg', 'raw'], { message: 'encoding must be jpeg or raw' })
  encoding: 'jpeg' | 'raw' = 'jpeg';
}
