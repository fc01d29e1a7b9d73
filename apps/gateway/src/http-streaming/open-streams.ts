import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { apiErrorBody } from '../errors/api-error.js';

/** What a stream is told when the gateway stops: come back (to another replica). */
export const SHUTTING_DOWN = apiErrorBody(
  status.UNAVAILABLE,
  'the gateway is shutting down; connect again',
);

/**
 * The long-lived streams (watch, chat) this gateway is serving. A live
 * match or a chat never ends by itself, and the HTTP server cannot close
 * while they run, so shutdown ends them first: each gets its last event and
 * its gRPC call is cancelled. Uploads are ordinary requests: the server
 * lets them finish, and the drain waits for them (`uploadsInFlight`) up to
 * SHUTDOWN_UPLOAD_GRACE_MS. Each client's open streams are counted by
 * StreamCap (security/), for the cap per client.
 */
@Injectable()
export class OpenStreams implements BeforeApplicationShutdown {
  private readonly closers = new Set<() => void>();
  private uploads = 0;

  /** Counts one more upload in flight; returns the function that uncounts it (once). */
  uploadStarted(): () => void {
    this.uploads++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.uploads--;
    };
  }

  /** Uploads being received now. */
  get uploadsInFlight(): number {
    return this.uploads;
  }

  /** Registers how to end one stream; returns the function that forgets it. */
  add(close: () => void): () => void {
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  beforeApplicationShutdown(): void {
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }
}
