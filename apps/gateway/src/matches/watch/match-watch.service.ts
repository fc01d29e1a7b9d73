import type { ServerResponse } from 'node:http';
import {
  GatewayTimeoutException,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ClientGrpc } from '@nestjs/microservices';
import { Metadata } from '@grpc/grpc-js';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import { stream } from '#proto';
import type { GatewayEnv } from '../../config/gateway.env.js';
import { toApiError } from '../../errors/api-error.js';
import { SOCCER_CLIENT } from '../../grpc-clients/grpc-clients.module.js';
import { sseHeartbeatMs } from '../../security/http-hardening.js';
import type { MjpegQuery, WatchQuery } from '../dto/watch.query.js';
import { OpenStreams, SHUTTING_DOWN } from '../open-streams.js';
import { MjpegFrameSink, SseFrameSink, type FrameSink } from './frame-sinks.js';
import { LiveMatches } from './live-matches.js';
import { acceptsNdjson, NdjsonFrameSink } from './ndjson-frame-sink.js';
import { SharedWatches } from './shared-watches.js';

/** Relays `Soccer.Watch` to HTTP viewers, as SSE or MJPEG. */
@Injectable()
export class MatchWatchService implements OnModuleInit {
  private readonly logger = new Logger(MatchWatchService.name);
  private soccer: stream.SoccerClient;
  private readonly firstFrameMs: number;
  private readonly heartbeatMs: number;

  constructor(
    @Inject(SOCCER_CLIENT) private readonly client: ClientGrpc,
    private readonly openStreams: OpenStreams,
    private readonly liveMatches: LiveMatches,
    private readonly sharedWatches: SharedWatches,
    config: ConfigService<GatewayEnv, true>,
  ) {
    // Watch is a stream, so no unary deadline; but the first frame (or the
    // error) must come as fast as a unary answer would.
    this.firstFrameMs = config.get('GATEWAY_DEADLINE_MS', { infer: true });
    this.heartbeatMs = sseHeartbeatMs(config.get('GATEWAY_IDLE_TIMEOUT_MS', { infer: true }));
  }

  onModuleInit(): void {
    this.soccer = this.client.getService<stream.SoccerClient>(stream.SOCCER_SERVICE_NAME);
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
      : new SseFrameSink(reply.raw, this.heartbeatMs);
    return this.relay(request, await this.frames(request), reply, sink);
  }

  /** Streams `id` as `multipart/x-mixed-replace` JPEGs for an `<img>`. */
  async mjpeg(id: string, query: MjpegQuery, reply: FastifyReply): Promise<void> {
    const request = watchRequest(id, query, stream.Encoding.JPEG);
    return this.relay(request, await this.frames(request), reply, new MjpegFrameSink(reply.raw));
  }

  /** A live match's viewers share one upstream Watch (SharedWatches); others get their own. */
  private async frames(request: stream.Match): Promise<Observable<stream.Video>> {
    const open = (r: stream.Match) => this.soccer.watch(r, new Metadata());
    return (await this.liveMatches.isLive(request.id))
      ? this.sharedWatches.frames(request, open)
      : open(request);
  }

  /**
   * Nothing is sent until the first frame, the end or an error arrives, so
   * an error before any frame (NOT_FOUND, INVALID_ARGUMENT) is a normal HTTP
   * error: the promise rejects and the exception filter answers. From the
   * first frame on, the response is taken over from Fastify (hijack) and
   * written raw, so the sink controls back-pressure. The viewer going away
   * unsubscribes, which cancels the gRPC call; so does the gateway's shutdown.
   */
  private relay(
    request: stream.Match,
    frames: Observable<stream.Video>,
    reply: FastifyReply,
    sink: FrameSink,
  ): Promise<void> {
    const res: ServerResponse = reply.raw;
    if (res.destroyed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let started = false;
      let done = false;
      const start = () => {
        started = true;
        clearTimeout(firstFrameTimer);
        reply.hijack();
        sink.open();
        resolve();
      };
      /** Runs `settle` once, for whichever of end, error, viewer gone, timeout or shutdown comes first. */
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(firstFrameTimer);
        res.off('close', viewerGone);
        forget();
        settle();
      };
      const subscription = frames.subscribe({
        next: (video) => {
          if (!started) start();
          sink.frame(video);
        },
        error: (err: Error) =>
          finish(() => {
            if (!started) return reject(err);
            const { body } = toApiError(err);
            this.logger.warn(
              `Watch ${request.id} failed mid-stream: ${body.status} ${body.message}`,
            );
            sink.fail(body);
          }),
        complete: () =>
          finish(() => {
            if (!started) start();
            sink.end();
          }),
      });
      const viewerGone = () =>
        finish(() => {
          subscription.unsubscribe();
          if (started) return;
          // Nobody left to answer: tell Fastify it has nothing to send.
          reply.hijack();
          resolve();
        });
      res.once('close', viewerGone);
      const forget = this.openStreams.add(() =>
        finish(() => {
          subscription.unsubscribe();
          if (!started) return reject(new ServiceUnavailableException(SHUTTING_DOWN.message));
          sink.fail(SHUTTING_DOWN);
        }),
      );
      const firstFrameTimer = setTimeout(
        () =>
          finish(() => {
            subscription.unsubscribe();
            reject(
              new GatewayTimeoutException(
                `soccer-service sent no frame of ${request.id} within ${this.firstFrameMs} ms`,
              ),
            );
          }),
        this.firstFrameMs,
      );
    });
  }
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
