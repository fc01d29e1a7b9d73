import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import type { ApiErrorBody } from '../errors/api-error.js';
import { grpcStatusName } from '../errors/grpc-http-status.js';

/** What a stream is told when the gateway stops: come back (to another replica). */
export const SHUTTING_DOWN: ApiErrorBody = {
  code: status.UNAVAILABLE,
  status: grpcStatusName(status.UNAVAILABLE),
  message: 'the gateway is shutting down; connect again',
};

/**
 * The long-lived streams (watch, chat) this gateway is serving. A live
 * match or a chat never ends by itself, and the HTTP server cannot close
 * while they run, so shutdown ends them first: each gets its last event and
 * its gRPC call is cancelled. (Uploads are ordinary requests: the server
 * lets them finish.) Each client's open streams are counted by StreamCap
 * (security/), for the cap per client.
 */
@Injectable()
export class OpenStreams implements BeforeApplicationShutdown {
  private readonly closers = new Set<() => void>();

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
