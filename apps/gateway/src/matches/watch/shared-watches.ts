import { Injectable } from '@nestjs/common';
import { finalize, share, take, type Observable } from 'rxjs';
import { stream } from '#proto';

/**
 * One upstream `Soccer.Watch` per live match and format, fanned out to every
 * viewer of it (multicast): 500 viewers of `live` cost soccer-service one
 * stream and the gateway one decode of each frame, not 500. The upstream
 * call starts with the first viewer and is cancelled when the last one
 * leaves (RxJS `share`, reference-counted); an upstream error ends every
 * viewer's stream, and the next viewer starts a new call. Each viewer keeps
 * its own back-pressure (latest frame wins in its sink) and frame budget.
 */
@Injectable()
export class SharedWatches {
  private readonly upstreams = new Map<string, Observable<stream.Video>>();

  /** The frames of `request` for one viewer; `open` starts the upstream call when none runs. */
  frames(
    request: stream.Match,
    open: (request: stream.Match) => Observable<stream.Video>,
  ): Observable<stream.Video> {
    const key = `${request.id}/${request.encoding}/${request.fps}/${request.jpegQuality}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      const created: Observable<stream.Video> = open({ ...request, maxFrames: 0 }).pipe(
        // Runs when the last viewer left (or the match ended / failed).
        finalize(() => {
          if (this.upstreams.get(key) === created) this.upstreams.delete(key);
        }),
        share(),
      );
      upstream = created;
      this.upstreams.set(key, upstream);
    }
    return request.maxFrames > 0 ? upstream.pipe(take(request.maxFrames)) : upstream;
  }

  /** Upstream calls running now. */
  get size(): number {
    return this.upstreams.size;
  }
}
