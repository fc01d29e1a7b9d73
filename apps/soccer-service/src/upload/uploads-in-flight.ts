import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { GrpcOperations } from '#grpc';
import type { SoccerServiceEnv } from '../config/soccer-service.env.js';

/**
 * The temp files of the uploads this process is receiving now: the sweep
 * leaves them alone (StaleUploadSweeper), and a shutdown waits for them up
 * to SHUTDOWN_UPLOAD_GRACE_MS from the signal (docs/operations.md).
 */
@Injectable()
export class UploadsInFlight implements OnModuleInit {
  private readonly files = new Set<string>();

  constructor(
    private readonly operations: GrpcOperations,
    private readonly config: ConfigService<SoccerServiceEnv, true>,
  ) {}

  onModuleInit(): void {
    this.operations.holdShutdownFor({
      what: 'upload',
      inFlight: () => this.files.size,
      maxMs: this.config.get('SHUTDOWN_UPLOAD_GRACE_MS', { infer: true }),
    });
  }

  add(tempFile: string): void {
    this.files.add(tempFile);
  }

  delete(tempFile: string): void {
    this.files.delete(tempFile);
  }

  has(tempFile: string): boolean {
    return this.files.has(tempFile);
  }

  get size(): number {
    return this.files.size;
  }
}
