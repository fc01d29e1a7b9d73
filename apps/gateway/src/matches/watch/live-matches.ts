import { Injectable, Logger } from '@nestjs/common';
import { MatchesService } from '../matches.service.js';

/** How long the list of live matches is trusted before asking soccer-service again. */
const LIVE_LIST_TTL_MS = 5000;

/**
 * Which matches are live (endless, `MatchInfo.live`): those are the ones
 * viewers may share one upstream Watch of, since a viewer joining late
 * should see "now". A finite match is watched from its start, so each
 * viewer needs its own stream. Known from ListMatches, asked again once the
 * list is LIVE_LIST_TTL_MS old. Only viewers before the first list wait for
 * it: later ones get the last list while a newer one is asked for, so a slow
 * or stopped soccer-service never holds a Watch for a whole ListMatches
 * deadline. When the ask fails, the last list stays (none live if there never
 * was one: each viewer then gets its own stream), and the next viewer asks again.
 */
@Injectable()
export class LiveMatches {
  private readonly logger = new Logger(LiveMatches.name);
  /** The last list ListMatches returned, and when it came. */
  private list: ReadonlySet<string> | undefined;
  private listedAt = 0;
  /** The ListMatches in flight: one at a time. */
  private asking: Promise<ReadonlySet<string>> | undefined;

  constructor(private readonly matches: MatchesService) {}

  async isLive(id: string): Promise<boolean> {
    if (!this.list || performance.now() - this.listedAt > LIVE_LIST_TTL_MS) {
      this.asking ??= this.ask().finally(() => (this.asking = undefined));
    }
    return (this.list ?? (await this.asking!)).has(id);
  }

  private async ask(): Promise<ReadonlySet<string>> {
    try {
      const { matches } = await this.matches.list();
      this.list = new Set(matches.filter((m) => m.live).map((m) => m.id));
      this.listedAt = performance.now();
      return this.list;
    } catch (err) {
      this.logger.warn(
        `cannot list live matches: ${err instanceof Error ? err.message : String(err)}`,
      );
      return this.list ?? new Set();
    }
  }
}
