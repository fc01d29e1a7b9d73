import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { grpcServiceName } from '#proto';
import { GrpcOperations } from '#grpc';
import { MEDIA_CHECK_INTERVAL_MS, MEDIA_DIR } from './media.tokens.js';

/** The name of this check under stream.Soccer's health. */
export const MEDIA_DIR_CHECK = 'media-dir';

/**
 * Keeps stream.Soccer's health honest about MEDIA_DIR: at start and then
 * every MEDIA_CHECK_INTERVAL_MS it really writes (and removes) a small file
 * there, since permissions, a read-only or full volume, or a path that is not
 * a directory only show on a write. While that fails, health is NOT_SERVING
 * for 'stream.Soccer' (and so for ''); it recovers by itself.
 */
@Injectable()
export class MediaDirHealthService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @Inject(MEDIA_DIR) private readonly dir: string,
    @Inject(MEDIA_CHECK_INTERVAL_MS) private readonly intervalMs: number,
    private readonly operations: GrpcOperations,
  ) {}

  /** Before the server listens, so that it never reports SERVING over a broken dir. */
  async onApplicationBootstrap(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Runs one check (or joins the one running) and reports it to health. */
  check(): Promise<void> {
    this.running ??= checkWritable(this.dir)
      .then(
        () => undefined,
        (err: unknown) =>
          `MEDIA_DIR ${this.dir} is not writable (${err instanceof Error ? err.message : String(err)})` +
          permissionHint(err),
      )
      .then((reason) =>
        this.operations.setCheck(grpcServiceName('soccer'), MEDIA_DIR_CHECK, reason),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }
}

/** Creates `dir` if needed, then writes and removes a small file in it; rejects when that fails. */
export async function checkWritable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Hidden and not .mp4: never listed as a match, never taken for an upload.
  const probe = join(dir, `.write-check-${randomUUID()}.tmp`);
  try {
    await writeFile(probe, 'ok\n', { flag: 'wx', flush: true });
  } catch (err) {
    await rm(probe, { force: true }).catch(() => undefined);
    throw err;
  }
  await rm(probe);
}

/**
 * For a permission error, who the process is: a shared volume that ignores
 * the pod's fsGroup (many ReadWriteMany CSI drivers) stays root-owned.
 */
function permissionHint(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM') return '';
  return (
    `; this process runs as uid ${process.getuid?.()} gid ${process.getgid?.()}: the volume must ` +
    'be writable by that group (docs/deploy.md, "Media volume")'
  );
}
