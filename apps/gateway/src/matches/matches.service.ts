import { Inject, Injectable } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import { lastValueFrom } from 'rxjs';
import { stream } from '#proto';
import { SOCCER_SERVICE } from '../grpc-clients/grpc-clients.module.js';
import type { MatchListView } from '../openapi/models.js';

/** Lists the matches soccer-service can stream. */
@Injectable()
export class MatchesService {
  constructor(@Inject(SOCCER_SERVICE) private readonly soccer: stream.SoccerClient) {}

  async list(): Promise<MatchListView> {
    const { matches } = await lastValueFrom(this.soccer.listMatches({}, new Metadata()));
    return {
      matches: matches.map((m) => ({
        id: m.id,
        // A source this build does not know yet shows as its number.
        source: stream.MatchSource[m.source] ?? String(m.source),
        sizeBytes: m.sizeBytes,
        durationMs: m.durationMs,
        width: m.width,
        height: m.height,
        fps: m.fps,
        live: m.live,
      })),
    };
  }
}
