import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Global, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';
import { MediaDirHealthService } from './media-dir-health.service.js';
import { findMediaTools, type MediaTools } from './media-tools.js';
import { MediaVolumeMetrics } from './media-volume-metrics.js';
import { MEDIA_CHECK_INTERVAL_MS, MEDIA_DIR, MEDIA_TOOLS } from './media.tokens.js';

export { MEDIA_CHECK_INTERVAL_MS, MEDIA_DIR, MEDIA_TOOLS } from './media.tokens.js';

const logger = new Logger('Media');

/** Where videos live and the tools that read them, shared by matches and uploads. */
@Global()
@Module({
  providers: [
    {
      provide: MEDIA_DIR,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): string => {
        const dir = resolve(config.get('MEDIA_DIR', { infer: true }));
        try {
          mkdirSync(dir, { recursive: true });
        } catch (err) {
          // Not fatal: synthetic matches still play; health says NOT_SERVING
          // (MediaDirHealthService) until the directory can be written.
          logger.error(`MEDIA_DIR ${dir} cannot be created: ${(err as Error).message}`);
        }
        return dir;
      },
    },
    {
      provide: MEDIA_TOOLS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): MediaTools => {
        const tools = findMediaTools(
          config.get('FFMPEG_PATH', { infer: true }),
          config.get('FFPROBE_PATH', { infer: true }),
        );
        const missing = (['ffmpeg', 'ffprobe'] as const).filter((tool) => !tools[tool]);
        if (missing.length === 0) {
          logger.log(`ffmpeg ${tools.ffmpeg}, ffprobe ${tools.ffprobe}`);
        } else {
          logger.warn(
            `${missing.join(' and ')} not found (FFMPEG_PATH/FFPROBE_PATH): ` +
              (tools.ffprobe
                ? 'file matches decode only in process (node-av)'
                : 'file matches and uploads answer FAILED_PRECONDITION; synthetic matches still play'),
          );
        }
        return tools;
      },
    },
    {
      provide: MEDIA_CHECK_INTERVAL_MS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<SoccerServiceEnv, true>): number =>
        config.get('MEDIA_CHECK_INTERVAL_MS', { infer: true }),
    },
    MediaDirHealthService,
    MediaVolumeMetrics,
  ],
  exports: [MEDIA_DIR, MEDIA_TOOLS],
})
export class MediaModule {}
