import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import { findMediaTools, type MediaTools } from './media-tools.js';

/** Injection token: absolute media directory (exists). */
export const MEDIA_DIR = Symbol('MEDIA_DIR');
/** Injection token: the MediaTools found at start-up. */
export const MEDIA_TOOLS = Symbol('MEDIA_TOOLS');

/** Where videos live and the tools that read them, shared by matches and uploads. */
@Global()
@Module({
  providers: [
    {
      provide: MEDIA_DIR,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): string => {
        const dir = resolve(config.get('MEDIA_DIR', { infer: true }));
        mkdirSync(dir, { recursive: true });
        return dir;
      },
    },
    {
      provide: MEDIA_TOOLS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): MediaTools =>
        findMediaTools(
          config.get('FFMPEG_PATH', { infer: true }),
          config.get('FFPROBE_PATH', { infer: true }),
        ),
    },
  ],
  exports: [MEDIA_DIR, MEDIA_TOOLS],
})
export class MediaModule {}
