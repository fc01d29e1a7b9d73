import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { stream } from '#proto';
import { MatchCatalogService } from './match-catalog.service.js';
import { MatchWatchService, type WatchedVideo } from './match-watch.service.js';

// Watch writes Videos the generated interface does not know: pre-encoded ones (VideoMessages).
type MatchesRpcs = Pick<stream.SoccerController, 'listMatches'>;

/** `stream.Soccer` Watch and ListMatches: wiring only. */
@Controller()
export class MatchesController implements MatchesRpcs {
  constructor(
    private readonly watches: MatchWatchService,
    private readonly catalog: MatchCatalogService,
  ) {}

  @GrpcMethod(stream.SOCCER_SERVICE_NAME, 'Watch')
  watch(
    request: stream.Match,
    _metadata: Metadata,
    call: ServerWritableStream<stream.Match, stream.Video>,
  ): Observable<WatchedVideo> {
    return this.watches.watch(request, call);
  }

  @GrpcMethod(stream.SOCCER_SERVICE_NAME, 'ListMatches')
  async listMatches(): Promise<stream.ListMatchesResponse> {
    return { matches: await this.catalog.list() };
  }
}
