import { GatewayTimeoutException, Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Metadata } from '@grpc/grpc-js';
import type { GatedCallOptions } from '#grpc';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import { stream } from '#proto';
import type { GatewayEnv } from '../../config/gateway.env.js';
import { SOCCER_SERVICE } from '../../grpc-clients/grpc-clients.module.js';
import { SseWriters } from '../../http-streaming/sse-writers.js';
import { replyTarget, StreamRelay } from '../../http-streaming/stream-relay.js';
import type { MjpegQuery, WatchQuery } from '../dto/watch.query.js';
import { MjpegFrameSink, SseFrameSink, type FrameSink } from './frame-sinks.js';
import { LiveMatches } from './live-matches.js';
import { acceptsNdjson, NdjsonFrameSink } from './ndjson-frame-sink.js';
import { SharedWatches } from './shared-watches.js';

/**
 * Relays `Soccer.Watch` to HTTP viewers, as SSE, NDJSON or MJPEG (StreamRelay).
 * Nothing is sent until the first frame, the end or an error arrives, so
 * an error before any frame (NOT_FOUND, INVALID_ARGUMENT) is a normal HTTP
 * error; from the first frame on, the sink writes the raw response under
 * back-pressure. The viewer going away unsubscribes, which cancels the
 * gRPC call; so does the gateway's shutdown.
 */
@Injectable()
export class MatchWatchService {
  private readonly firstFrameMs: number;

  constructor(
    @Inject(SOCCER_SERVICE) private readonly soccer: stream.SoccerClient,
    private readonly relays: StreamRelay,
    private readonly sseWriters: SseWriters,
    private readonly liveMatches: LiveMatches,
    private readonly sharedWatches: SharedWatches,
    config: ConfigService<GatewayEnv, true>,
  ) {
    // Watch is a stream, so no unary deadline; but the first frame (or the
    // error) must come as fast as a unary answer would.
    this.firstFrameMs = config.get('GATEWAY_DEADLINE_MS', { infer: true });
  }

  /**
   * Streams `id` as Server-Sent Events, or as NDJSON when the client accepts
   * `application/x-ndjson`; settles once the headers are out (or it failed).
   */
  async sse(id: string, query: WatchQuery, reply: FastifyReply): Promise<void> {
    const encoding = query.encoding === 'raw' ? stream.Encoding.RAW : stream.Encoding.JPEG;
    const request = watchRequest(id, query, encoding);
    const sink = acceptsNdjson(reply.request.headers.accept)
      ? new NdjsonFrameSink(reply.raw)
      : new SseFrameSink(this.sseWriters.create(reply.raw));
    return this.relay(request, await this.frames(request, sink), reply, sink);
  }

  /** Streams `id` as `multipart/x-mixed-replace` JPEGs for an `<img>`. */
  async mjpeg(id: string, query: MjpegQuery, reply: FastifyReply): Promise<void> {
    const request = watchRequest(id, query, stream.Encoding.JPEG);
    const sink = new MjpegFrameSink(reply.raw);
    return this.relay(request, await this.frames(request, sink), reply, sink);
  }

  /**
   * A live match's viewers share one upstream Watch (SharedWatches), read as
   * fast as the fastest of them takes frames; others get their own.
   */
  private async frames(request: stream.Match, sink: FrameSink): Promise<Observable<stream.Video>> {
    if (!(await this.liveMatches.isLive(request.id))) {
      return this.soccer.watch(request, new Metadata());
    }
    // Nest's ClientGrpc hands its arguments on to grpc-js, call options included.
    const soccer = this.soccer as unknown as GatedWatchClient;
    return this.sharedWatches.frames(
      request,
      (shared, readGate) => soccer.watch(shared, new Metadata(), { readGate }),
      sink.frames,
    );
  }

  private relay(
    request: stream.Match,
    frames: Observable<stream.Video>,
    reply: FastifyReply,
    sink: FrameSink,
  ): Promise<void> {
    return this.relays.relay({
      source: frames,
      target: replyTarget(reply),
      sink,
      firstMessageMs: this.firstFrameMs,
      late: () =>
        new GatewayTimeoutException(
          `soccer-service sent no frame of ${request.id} within ${this.firstFrameMs} ms`,
        ),
      name: `Watch ${request.id}`,
    }).started;
  }
}

/** `Soccer.Watch` as ClientGrpc runs it, with grpc-js call options (a ReadGate: the soccer client's readGateInterceptor). */
interface GatedWatchClient {
  watch(
    request: stream.Match,
    metadata: Metadata,
    options: GatedCallOptions,
  ): Observable<stream.Video>;
}

function watchRequest(id: string, query: MjpegQuery, encoding: stream.Encoding): stream.Match {
  return {
    id,
    encoding,
    fps: query.fps,
    maxFrames: query.maxFrames,
    jpegQuality: query.quality ?? 0,
  };
}
