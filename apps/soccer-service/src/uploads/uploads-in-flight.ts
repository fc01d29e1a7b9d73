import { Injectable } from '@nestjs/common';

/**
 * The temp files of the uploads this process is receiving now: the sweep
 * leaves them alone (StaleUploadSweeper), and a shutdown waits for them
 * within its bound (docs/operations.md).
 */
@Injectable()
export class UploadsInFlight {
  private readonly files = new Set<string>();

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
