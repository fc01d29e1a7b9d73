import { statfs } from 'node:fs/promises';
import { Inject, Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { MEDIA_DIR } from './media.tokens.js';

/**
 * The size and free space of the filesystem holding MEDIA_DIR, read on each
 * scrape (`statfs`, whatever the volume: an alert on them works on any
 * storage class, where the kubelet's volume stats do not):
 * - `soccer_media_volume_size_bytes`
 * - `soccer_media_volume_available_bytes` (what this process may still write)
 * No sample while MEDIA_DIR cannot be read (health says why).
 */
@Injectable()
export class MediaVolumeMetrics {
  constructor(registry: Registry, @Inject(MEDIA_DIR) dir: string) {
    let stats: Promise<{ size: number; available: number } | undefined> | undefined;
    // Both gauges of one scrape share one statfs call.
    const read = () => {
      stats ??= statfs(dir)
        .then(
          (s) => ({ size: s.blocks * s.bsize, available: s.bavail * s.bsize }),
          () => undefined,
        )
        .finally(() => setImmediate(() => (stats = undefined)));
      return stats;
    };
    for (const [name, help, field] of [
      ['soccer_media_volume_size_bytes', 'Size of the filesystem holding MEDIA_DIR.', 'size'],
      [
        'soccer_media_volume_available_bytes',
        'Bytes of the filesystem holding MEDIA_DIR this process may still write.',
        'available',
      ],
    ] as const) {
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          const now = await read();
          this.reset();
          if (now) this.set(now[field]);
        },
      });
    }
  }
}
