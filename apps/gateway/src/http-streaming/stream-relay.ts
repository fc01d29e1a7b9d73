import type { Writable } from 'node:stream';
import { HttpException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Observable, Subscription } from 'rxjs';
import { toApiError } from '../errors/api-error.js';
import type { ApiErrorBody } from '../openapi/models.js';
import { httpStatusFromGrpc } from '../errors/grpc-http-status.js';
import { OpenStreams, SHUTTING_DOWN } from './open-streams.js';
import { hijackWithHeaders } from './raw-response.js';

/** Where a relayed stream's messages go: one raw response, in one format. */
export interface StreamSink<T> {
  /** The first message (or the end) has come: the status and headers go out. */
  open(): void;
  /** One message of the source. */
  next(message: T): void;
  /** The source completed: the last bytes, then the response ends. */
  end(): void;
  /** It failed after `open` (the source, the shutdown, `stop`): says so if the format can, and ends. */
  fail(error: ApiErrorBody): void;
  /** Lets go of what the sink holds (timers, listeners); runs once, last, however the stream ended. */
  release(): void;
}

/** The raw response a stream is written to, and how to take it over from the framework. */
export interface RelayTarget {
  /** Its 'close' is the client going away (or the response done). */
  readonly res: Writable;
  /** From now on the relay writes the response itself (Fastify's `reply.hijack()`). */
  hijack(): void;
}

/** The target of a Fastify route that streams its response. */
export function replyTarget(reply: FastifyReply): RelayTarget {
  return {
    res: reply.raw,
    hijack: () => hijackWithHeaders(reply),
  };
}

export interface RelayOptions<T> {
  /** Subscribed once; unsubscribing cancels what feeds it (the gRPC call). */
  source: Observable<T>;
  target: RelayTarget;
  sink: StreamSink<T>;
  /** How long the first message may take; then the stream fails with `late()` instead. */
  firstMessageMs: number;
  late: () => Error;
  /** Names the stream in logs: 'Watch live'. */
  name: string;
  /** Right after subscribing: what the source needs to begin (chat's join message). */
  onSubscribed?: () => void;
  /** The headers are out. */
  onStarted?: () => void;
  /** The stream is over, however it ended; runs once. */
  onEnded?: () => void;
}

/** A stream being relayed. */
export interface RelayedStream {
  /**
   * Resolves once the headers are out, or the client went away first;
   * rejects when the stream failed before its first message (the source's
   * error, `late()`, the shutdown's 503), so the exception filter answers
   * it as a plain HTTP error.
   */
  readonly started: Promise<void>;
  /** Ends the stream with `error` as its last word (a reader too slow), cancelling the source. */
  stop(error: ApiErrorBody): void;
}

/**
 * The one state machine of every streamed response (SSE watch and chat,
 * MJPEG): subscribe once; take the response over (hijack) and open the sink
 * at the first message; end it with the source, fail it on the source's
 * error, on the gateway's shutdown (OpenStreams) or on `stop`; answer an
 * HTTP error if it fails before the first message or that message is
 * late. Whichever comes first ends it, once: the source is unsubscribed
 * (the gRPC call cancelled), the timer cleared, the listeners removed, the
 * shutdown registration dropped, and the sink released. Nothing is left
 * for the response to be reached from once it has closed.
 */
@Injectable()
export class StreamRelay {
  private readonly logger = new Logger(StreamRelay.name);

  constructor(private readonly openStreams: OpenStreams) {}

  relay<T>(options: RelayOptions<T>): RelayedStream {
    const { source, target, sink } = options;
    const { res } = target;
    if (res.destroyed) {
      sink.release();
      return { started: Promise.resolve(), stop: () => undefined };
    }
    let state: 'waiting' | 'streaming' | 'over' = 'waiting';
    const over = () => state === 'over';
    // Unset while subscribing: the source may end before `subscribe` returns.
    let subscription: Subscription | undefined = undefined;
    let resolveStarted!: () => void;
    let rejectStarted!: (err: unknown) => void;
    const started = new Promise<void>((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });

    /** The first message (or the end) came: the response is ours from now on. */
    const open = () => {
      clearTimeout(firstMessageTimer);
      target.hijack();
      sink.open();
      options.onStarted?.();
      resolveStarted();
    };
    /** Ends the stream once, with `last` as what is said before everything is let go. */
    const finish = (last: (streaming: boolean) => void) => {
      if (state === 'over') return;
      const streaming = state === 'streaming';
      state = 'over';
      clearTimeout(firstMessageTimer);
      res.off('close', clientGone);
      forget();
      subscription?.unsubscribe();
      try {
        last(streaming);
      } finally {
        sink.release();
        options.onEnded?.();
      }
    };
    /** Fails the stream: an HTTP error before the first message, a last event after it. */
    const fail = (before: () => unknown, after: ApiErrorBody) =>
      finish((streaming) => (streaming ? sink.fail(after) : rejectStarted(before())));

    const clientGone = () =>
      finish((streaming) => {
        if (streaming) return;
        // Nobody left to answer: Fastify must not send anything either.
        target.hijack();
        resolveStarted();
      });
    res.once('close', clientGone);
    const forget = this.openStreams.add(() =>
      fail(() => new ServiceUnavailableException(SHUTTING_DOWN.message), SHUTTING_DOWN),
    );
    // Cleared by the first message: it only ever fails a stream not yet started.
    const firstMessageTimer = setTimeout(
      () => finish(() => rejectStarted(options.late())),
      options.firstMessageMs,
    );

    subscription = source.subscribe({
      next: (message) => {
        if (state === 'over') return;
        if (state === 'waiting') {
          state = 'streaming';
          open();
        }
        sink.next(message);
      },
      error: (err: unknown) =>
        finish((streaming) => {
          if (!streaming) return rejectStarted(err);
          const { body } = toApiError(err);
          this.logger.warn(`${options.name} failed mid-stream: ${body.status} ${body.message}`);
          sink.fail(body);
        }),
      complete: () =>
        finish((streaming) => {
          if (!streaming) open();
          sink.end();
        }),
    });
    // A source that ended while being subscribed has nobody to unsubscribe it later.
    if (over()) subscription.unsubscribe();
    else options.onSubscribed?.();

    return {
      started,
      stop: (error) => fail(() => new HttpException(error, httpStatusFromGrpc(error.code)), error),
    };
  }
}
