import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpException, Inject, Injectable, PayloadTooLargeException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { stream } from '#proto';
import type { GatewayEnv } from '../../config/gateway.env.js';
import { SOCCER_RAW_CLIENT } from '../../grpc-clients/grpc-clients.module.js';
import type { SoccerRawClient } from '../../grpc-clients/soccer-raw-client.js';
import { closeAfterAnswer } from '../../errors/close-after-answer.js';
import { OpenStreams } from '../../http-streaming/open-streams.js';
import type { UploadView } from '../../openapi/models.js';
import { toUploadChunks, UploadTooLargeError } from './upload-chunks.js';

/** nginx's "client closed request": nobody is left to read the answer. */
const CLIENT_CLOSED = 499;

/**
 * Streams an HTTP request body into `Soccer.Upload` without buffering it:
 * `pipeline(body, toUploadChunks, call)` writes a chunk only when the gRPC
 * call takes it, so a slow soccer-service pauses the HTTP upload (TCP
 * back-pressure) and memory stays at a few chunks whatever the file size.
 */
@Injectable()
export class MatchUploadService {
  private readonly maxBytes: number;
  private readonly timeoutMs: number;

  constructor(
    // The raw grpc-js client: Nest's Observable wrapper writes a client
    // stream with no regard for back-pressure.
    @Inject(SOCCER_RAW_CLIENT) private readonly soccer: SoccerRawClient,
    private readonly openStreams: OpenStreams,
    config: ConfigService<GatewayEnv, true>,
  ) {
    this.maxBytes = config.get('GATEWAY_MAX_UPLOAD_BYTES', { infer: true });
    this.timeoutMs = config.get('GATEWAY_UPLOAD_TIMEOUT_MS', { infer: true });
  }

  upload(
    id: string,
    overwrite: boolean,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<UploadView> {
    const declared = Number(req.headers['content-length']);
    if (declared > this.maxBytes) {
      closeAfterAnswer(req, res);
      return Promise.reject(this.tooLarge(`${declared} bytes`));
    }
    return new Promise<UploadView>((resolve, reject) => {
      const aborter = new AbortController();
      // A shutdown waits for it (SHUTDOWN_UPLOAD_GRACE_MS) until it is answered.
      const ended = this.openStreams.uploadStarted();
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        ended();
        res.off('close', clientGone);
        outcome();
      };
      const fail = (err: Error) =>
        settle(() => {
          aborter.abort();
          call.cancel();
          closeAfterAnswer(req, res);
          reject(err);
        });

      // Upload is client streaming, so the unary deadline interceptor leaves
      // it alone; this generous overall deadline only ends stuck uploads.
      const call = this.soccer.upload(
        new Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err: ServiceError | null, result?: stream.UploadResult) => {
          if (err) {
            // The service's own size limit is the same condition as ours: 413, not 429.
            fail(
              err.code === status.RESOURCE_EXHAUSTED
                ? new PayloadTooLargeException(err.details)
                : err,
            );
            return;
          }
          settle(() => resolve({ id: result!.id, bytes: result!.bytes, sha256: result!.sha256 }));
        },
      );
      // The client going away cancels the call at once: the service drops its temp file.
      const clientGone = () => fail(new HttpException('client closed the request', CLIENT_CLOSED));
      res.once('close', clientGone);

      // The body is iterated without destroy-on-return: when the pipeline
      // stops early (limit, service error), the socket must survive to carry
      // the error answer.
      const body = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
      // grpc-js types the call as an object stream of its own; it is a Writable.
      pipeline(body, toUploadChunks(id, overwrite, this.maxBytes), call as unknown as Writable, {
        signal: aborter.signal,
      }).catch((err: unknown) =>
        fail(
          err instanceof UploadTooLargeError
            ? this.tooLarge(`more than ${err.limit} bytes`)
            : new HttpException(`upload body broke off: ${(err as Error).message}`, CLIENT_CLOSED),
        ),
      );
    });
  }

  private tooLarge(size: string): PayloadTooLargeException {
    return new PayloadTooLargeException(
      `upload of ${size} is over the limit of ${this.maxBytes} bytes`,
    );
  }
}
