import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { QueryInt } from './query-values.js';

/** Frame rate browsers get unless they ask: real time for the 25 fps matches. */
export const DEFAULT_WATCH_FPS = 25;

/** Query of `GET /v1/matches/:id/stream.mjpeg`. */
export class MjpegQuery {
  // Each number's checks run from the decorator nearest the property upwards,
  // and the pipe stops at the first failure: @IsInt() goes last, so that
  // "-1", "1.5" or "0x10" are "not an integer", not "greater than 120".

  /** Frames per second, paced by soccer-service; 0 = as fast as this viewer reads. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 120,
    default: DEFAULT_WATCH_FPS,
    description: 'frames per second; 0 = full speed',
  })
  @IsOptional()
  @QueryInt()
  @Max(120)
  @Min(0)
  @IsInt()
  fps: number = DEFAULT_WATCH_FPS;

  /** Stop after this many frames; 0 = the whole match. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 1_000_000,
    default: 0,
    description: 'stop after this many frames; 0 = the whole match',
  })
  @IsOptional()
  @QueryInt()
  @Max(1_000_000)
  @Min(0)
  @IsInt()
  maxFrames: number = 0;

  /** JPEG quality 1-100; unset = soccer-service's default. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    description: "JPEG quality; unset = soccer-service's default (80)",
  })
  @IsOptional()
  @QueryInt()
  @Max(100)
  @Min(1)
  @IsInt()
  quality?: number;
}

/** Query of `GET /v1/matches/:id/watch` (SSE). */
export class WatchQuery extends MjpegQuery {
  /** JPEG (what a browser can show) unless raw BGR pixels are asked for. */
  @ApiPropertyOptional({
    enum: ['jpeg', 'raw'],
    default: 'jpeg',
    description: '`raw` = H×W×3 BGR bytes, as the gRPC Watch gives them',
  })
  @IsOptional()
  @IsIn(['jpeg', 'raw'], { message: 'encoding must be jpeg or raw' })
  encoding: 'jpeg' | 'raw' = 'jpeg';
}
