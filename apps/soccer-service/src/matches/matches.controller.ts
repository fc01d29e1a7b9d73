import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { stream } from '#proto';
import { MatchCatalogService } from './match-catalog.service.js';
import { WatchService } from './watch.service.js';

type MatchesRpcs = Pick<stream.SoccerController, 'watch' | 'listMatches'>;

/** `stream.Soccer` Watch and ListMatches: wiring only. */
@Controller()
export class MatchesController implements MatchesRpcs {
  constructor(
    private readonly watches: WatchService,
    private readonly catalog: MatchCatalogService,
  ) {}

  @GrpcMethod(stream.SOCCER_SERVICE_NAME, 'Watch')
  watch(
    request: stream.Match,
    _metadata: Metadata,
    call: ServerWritableStream<stream.Match, stream.Video>,
  ): Observable<stream.Video> {
    return this.watches.watch(request, call);
  }

  @GrpcMethod(stream.SOCCER_SERVICE_NAME, 'ListMatches')
  async listMatches(): Promise<stream.ListMatchesResponse> {
    return { matches: await this.catalog.list() };
  }
}
