import { Module } from '@nestjs/common';
import { OpenStreams } from './open-streams.js';
import { SseWriters } from './sse-writers.js';
import { StreamRelay } from './stream-relay.js';

/**
 * HTTP streaming plumbing, apart from any domain: the one relay of every
 * streamed response (StreamRelay), SSE writers with their heartbeat and
 * gauge (SseWriters), and the registry of open streams that shutdown ends
 * and of the uploads the drain waits for (OpenStreams).
 */
@Module({
  providers: [OpenStreams, SseWriters, StreamRelay],
  exports: [OpenStreams, SseWriters, StreamRelay],
})
export class HttpStreamingModule {}
