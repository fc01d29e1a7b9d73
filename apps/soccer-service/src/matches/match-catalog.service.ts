import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { MATCH_ID_PATTERN, richRpcException, stream } from '#proto';
import { MEDIA_DIR, MEDIA_TOOLS } from '../media/media.module.js';
import type { MediaTools } from '../media/media-tools.js';
import { SOCCER_ERROR_DOMAIN } from '../media/match-id.js';
import { NotAVideoError, probeVideo, type VideoInfo } from '../media/video-probe.js';
import { VideoDecoders } from './file/video-decoders.js';
import type { FrameTarget } from './frame-target.js';
import type { PixelOrder } from './synthetic/pitch-renderer.js';
import { syntheticFrames } from './synthetic/synthetic-frames.js';
import { isLiveMatch, SYNTHETIC_MATCHES, syntheticMatch } from './synthetic/synthetic-matches.js';

/** A match ready to be watched: its frame geometry and a way to pull its frames. */
export interface OpenMatch {
  width: number;
  height: number;
  fps: number;
  /** Endless, watched from "now": a paced Watch skips the frames a slow reader missed. */
  live?: boolean;
  /**
   * Frames as H x W x 3 bytes, produced as they are pulled; written into
   * the buffers `target` gives, when given.
   */
  frames(
    order: PixelOrder,
    signal: AbortSignal,
    target?: FrameTarget,
  ): AsyncIterable<Buffer> | Iterable<Buffer>;
}

/** The matches: built-in synthetic ones and {MEDIA_DIR}/{id}.mp4 files. */
@Injectable()
export class MatchCatalogService {
  /** ffprobe results by file, valid while size and mtime are unchanged. */
  private readonly probes = new Map<string, { key: string; info: VideoInfo }>();

  constructor(
    @Inject(MEDIA_DIR) private readonly mediaDir: string,
    @Inject(MEDIA_TOOLS) private readonly tools: MediaTools,
    private readonly decoders: VideoDecoders,
  ) {}

  async list(): Promise<stream.MatchInfo[]> {
    const synthetic = SYNTHETIC_MATCHES.map((m): stream.MatchInfo => ({
      id: m.id,
      source: stream.MatchSource.SYNTHETIC,
      sizeBytes: 0,
      durationMs: m.frames ? Math.round((m.frames * 1000) / m.fps) : 0,
      width: m.width,
      height: m.height,
      fps: m.fps,
      live: isLiveMatch(m),
    }));
    // No readable MEDIA_DIR: the built-in matches only (health reports the directory).
    const names = await readdir(this.mediaDir).catch((err: NodeJS.ErrnoException) => {
      if (['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM'].includes(err.code ?? '')) return [];
      throw err;
    });
    const files = await Promise.all(
      names
        .filter((name) => name.endsWith('.mp4'))
        .map((name) => name.slice(0, -'.mp4'.length))
        .filter((id) => MATCH_ID_PATTERN.test(id) && !syntheticMatch(id))
        .map((id) => this.fileInfo(id)),
    );
    return [...synthetic, ...files.filter((m) => m !== undefined)].sort((a, b) =>
      a.id.localeCompare(b.id),
    );
  }

  /**
   * Opens match `id` (already validated): NOT_FOUND, or FAILED_PRECONDITION
   * without ffprobe or a decoder, or for a rotated file without ffmpeg.
   */
  async open(id: string): Promise<OpenMatch> {
    const spec = syntheticMatch(id);
    if (spec) {
      return {
        ...spec,
        live: isLiveMatch(spec),
        frames: (order, signal, target) => syntheticFrames(spec, order, signal, target),
      };
    }
    const file = this.path(id);
    if (!(await stat(file).catch(() => undefined))?.isFile()) {
      throw richRpcException(status.NOT_FOUND, `no match ${id}`, {
        reason: 'MATCH_NOT_FOUND',
        domain: SOCCER_ERROR_DOMAIN,
        resource: { type: 'match', name: id, description: `no built-in match and no ${id}.mp4` },
      });
    }
    const { ffprobe } = this.tools;
    const decode = ffprobe ? await this.decoders.decoder() : undefined;
    if (!ffprobe || !decode) {
      throw new RpcException({
        code: status.FAILED_PRECONDITION,
        message: `match ${id} is a video file, and this server has no ffmpeg/ffprobe to decode it`,
      });
    }
    const info = await this.probe(ffprobe, file).catch((err: unknown) => {
      throw err instanceof NotAVideoError
        ? new RpcException({ code: status.DATA_LOSS, message: `match ${id}: ${err.message}` })
        : err;
    });
    // Either decoder hands a rotated file to an ffmpeg child, the one that turns it upright.
    if (info.rotation && !this.tools.ffmpeg) {
      throw new RpcException({
        code: status.FAILED_PRECONDITION,
        message: `match ${id} is a video rotated ${info.rotation}°, and this server has no ffmpeg to turn it upright`,
      });
    }
    return {
      ...info,
      frames: (order, signal, target) => decode({ file, ...info }, order, signal, target),
    };
  }

  private path(id: string): string {
    return join(this.mediaDir, `${id}.mp4`);
  }

  private async fileInfo(id: string): Promise<stream.MatchInfo | undefined> {
    const file = this.path(id);
    const stats = await stat(file).catch(() => undefined);
    if (!stats?.isFile()) return undefined;
    const info = this.tools.ffprobe
      ? await this.probe(this.tools.ffprobe, file).catch(() => undefined)
      : undefined;
    return {
      id,
      source: stream.MatchSource.FILE,
      sizeBytes: stats.size,
      durationMs: info?.durationMs ?? 0,
      width: info?.width ?? 0,
      height: info?.height ?? 0,
      fps: info?.fps ?? 0,
      live: false,
    };
  }

  private async probe(ffprobe: string, file: string): Promise<VideoInfo> {
    const stats = await stat(file);
    const key = `${stats.size}:${stats.mtimeMs}`;
    const cached = this.probes.get(file);
    if (cached?.key === key) return cached.info;
    const info = await probeVideo(ffprobe, file);
    this.probes.set(file, { key, info });
    return info;
  }
}
