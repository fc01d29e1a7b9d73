import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { MEDIA_DIR } from '../media/media.tokens.js';
import { SoccerMetrics } from '../metrics/soccer-metrics.js';
import { removeStaleUploads } from './uploaded-files.js';
import { UPLOAD_LIMITS, type UploadLimits } from './upload-limits.js';
import { UploadsInFlight } from './uploads-in-flight.js';

/** How often MEDIA_DIR is swept: a quarter of the upload timeout, within 1 s and 5 min. */
export function sweepIntervalMs(uploadTimeoutMs: number): number {
  return Math.min(Math.max(Math.floor(uploadTimeoutMs / 4), 1000), 5 * 60_000);
}

/**
 * Removes the upload temp files (`.upload-*.part`) that a crash left in
 * MEDIA_DIR, at start-up and then every `sweepIntervalMs` while running: a
 * file is removed when no upload in flight here owns it and nothing has
 * been written to it for UPLOAD_TIMEOUT_MS. No upload, here or on a replica
 * sharing the directory, runs that long (the service ends it), so such a
 * file is nobody's. Each removal is logged and counted
 * (`soccer_upload_temp_files_removed_total`).
 */
@Injectable()
export class StaleUploadSweeper implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(StaleUploadSweeper.name);
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    @Inject(MEDIA_DIR) private readonly mediaDir: string,
    @Inject(UPLOAD_LIMITS) private readonly limits: UploadLimits,
    private readonly inFlight: UploadsInFlight,
    private readonly metrics: SoccerMetrics,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.sweep();
    this.timer = setInterval(() => void this.sweep(), sweepIntervalMs(this.limits.timeoutMs));
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One pass over MEDIA_DIR (none while another is still running). */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const removed = await removeStaleUploads(this.mediaDir, this.limits.timeoutMs, (file) =>
        this.inFlight.has(file),
      );
      for (const { name, bytes, idleMs } of removed) {
        this.metrics.staleUploadRemoved();
        this.logger.warn(
          `removed stale upload temp file ${name}: ${bytes} bytes, untouched for ${Math.round(idleMs / 1000)} s`,
        );
      }
    } catch (err) {
      // An unreadable MEDIA_DIR is not fatal: health reports it (MediaDirHealthService).
      this.logger.warn(`stale uploads not swept: ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }
}
