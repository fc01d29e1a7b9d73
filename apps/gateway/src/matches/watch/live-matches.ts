import { Injectable, Logger } from '@nestjs/common';
import { MatchesService } from '../matches.service.js';

/** How long the list of live matches is trusted before asking soccer-service again. */
const LIVE_LIST_TTL_MS = 5000;

/**
 * Which matches are live (endless, `MatchInfo.live`): those are the ones
 * viewers may share one upstream Watch of, since a viewer joining late
 * should see "now". A finite match is watched from its start, so each
 * viewer needs its own stream. Known from ListMatches, at most once per
 * LIVE_LIST_TTL_MS; when it fails, no match counts as live (each viewer then
 * gets its own stream, as before).
 */
@Injectable()
export class LiveMatches {
  private readonly logger = new Logger(LiveMatches.name);
  private live: Promise<ReadonlySet<string>> | undefined;
  private fetchedAt = 0;

  constructor(private readonly matches: MatchesService) {}

  async isLive(id: string): Promise<boolean> {
    if (!this.live || performance.now() - this.fetchedAt > LIVE_LIST_TTL_MS) {
      this.fetchedAt = performance.now();
      this.live = this.fetch();
    }
    return (await this.live).has(id);
  }

  private async fetch(): Promise<ReadonlySet<string>> {
    try {
      const { matches } = await this.matches.list();
      return new Set(matches.filter((m) => m.live).map((m) => m.id));
    } catch (err) {
      this.logger.warn(
        `cannot list live matches: ${err instanceof Error ? err.message : String(err)}`,
      );
      this.fetchedAt = 0; // ask again next time
      return new Set();
    }
  }
}
