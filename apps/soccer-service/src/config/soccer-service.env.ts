import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { GrpcServiceEnv, IsExecutableFile, IsRedisUrl, SecretEnv } from '#config';
import { VIDEO_DECODERS, type VideoDecoderName } from '../matches/file/video-decoders.js';

/** soccer-service's environment, validated at start-up. */
export class SoccerServiceEnv extends GrpcServiceEnv {
  /** Interface the gRPC server binds to. */
  @IsString()
  SOCCER_GRPC_HOST: string = '0.0.0.0';

  /** gRPC port; the talk's clients dial 4001. */
  @IsInt()
  @Min(1)
  @Max(65535)
  SOCCER_GRPC_PORT: number = 4001;

  /** Port of `GET /metrics`, one of its own so the services can share a host; 0: off. */
  override METRICS_PORT: number = 9401;

  /** Where match videos live: {MEDIA_DIR}/{id}.mp4. Created when missing (health checks it). */
  @IsString()
  MEDIA_DIR: string = './media';

  /** How often MEDIA_DIR is checked for writes (health NOT_SERVING when it fails), in ms. */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  MEDIA_CHECK_INTERVAL_MS: number = 10_000;

  /**
   * ffmpeg binary; unset: the one on PATH, else the one of the `@ffmpeg-installer/ffmpeg`
   * package `npm ci` brings. Watch needs it only with VIDEO_DECODER=ffmpeg (or no node-av).
   */
  @IsOptional()
  @IsExecutableFile()
  FFMPEG_PATH?: string;

  /** ffprobe binary; unset: beside ffmpeg, on PATH, else the one of `@ffprobe-installer/ffprobe`. */
  @IsOptional()
  @IsExecutableFile()
  FFPROBE_PATH?: string;

  /**
   * How Watch decodes video files: `node-av`, in process (an ffmpeg child
   * where node-av has no binary for the platform, and for rotated videos,
   * which ffmpeg turns upright), or `ffmpeg`, a child per
   * watch: a decoder crash then stays out of the service, for more CPU per
   * frame (docs/benchmarks.md).
   */
  @IsIn(VIDEO_DECODERS)
  VIDEO_DECODER: VideoDecoderName = 'node-av';

  /** Largest upload, in bytes. */
  @IsInt()
  @Min(1)
  MAX_UPLOAD_BYTES: number = 2 * 1024 * 1024 * 1024;

  /**
   * Longest an upload may take, in ms: then it ends with DEADLINE_EXCEEDED,
   * whatever the client's deadline. An upload temp file nothing has written to
   * for this long is no upload's, and is swept (docs/matches-api.md).
   */
  @IsInt()
  @Min(1000)
  @Max(24 * 3600_000)
  UPLOAD_TIMEOUT_MS: number = 3600_000;

  /**
   * On SIGTERM/SIGINT, how long uploads in flight get to finish, in ms from
   * the signal, when that is longer than SHUTDOWN_GRACE_MS: a rollout then
   * cuts no upload shorter than this (docs/operations.md, "Uploads and
   * rollouts"). Give the pod a terminationGracePeriodSeconds above it.
   */
  @IsInt()
  @Min(0)
  @Max(3600_000)
  SHUTDOWN_UPLOAD_GRACE_MS: number = 300_000;

  /** Longest chat message, in characters. */
  @IsInt()
  @Min(1)
  @Max(100_000)
  CHAT_MAX_TEXT: number = 500;

  /** Chat messages a member may fall behind by before it is dropped (RESOURCE_EXHAUSTED). */
  @IsInt()
  @Min(1)
  @Max(100_000)
  CHAT_MAX_PENDING: number = 256;

  /**
   * Redis shared by the replicas (`redis://[user:password@]host:port[/db]`, or
   * `rediss://` for TLS): chat rooms then span every replica. Unset: rooms are
   * per process. A secret: the URL may hold a password.
   */
  @SecretEnv()
  @IsOptional()
  @IsRedisUrl()
  REDIS_URL?: string;
}
