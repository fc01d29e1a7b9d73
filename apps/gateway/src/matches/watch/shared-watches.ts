import { Injectable } from '@nestjs/common';
import { finalize, Observable, share, take } from 'rxjs';
import { ReadGate } from '#grpc';
import { stream } from '#proto';
import type { Demand } from '../../http-streaming/backpressure.js';

/** Starts the upstream call of a shared watch, read through `gate`. */
export type OpenSharedWatch = (request: stream.Match, gate: ReadGate) => Observable<stream.Video>;

interface Upstream {
  readonly frames: Observable<stream.Video>;
  /** Each viewer's demand: the call is read while one of them would take a frame. */
  readonly viewers: Set<Demand>;
  readonly gate: ReadGate;
}

/**
 * One upstream `Soccer.Watch` per live match and format, fanned out to every
 * viewer of it (multicast): 500 viewers of `live` cost soccer-service one
 * stream and the gateway one decode of each frame, not 500. The upstream
 * call starts with the first viewer and is cancelled when the last one
 * leaves (RxJS `share`, reference-counted); an upstream error ends every
 * viewer's stream, and the next viewer starts a new call. Each viewer keeps
 * its own back-pressure (latest frame wins in its sink) and frame budget,
 * and the call is read only while one viewer would take a frame: the
 * fastest viewer paces it, so frames nobody can take are not sent at all.
 */
@Injectable()
export class SharedWatches {
  private readonly upstreams = new Map<string, Upstream>();

  /** The frames of `request` for one viewer, whose `demand` paces the upstream call with the others'. */
  frames(request: stream.Match, open: OpenSharedWatch, demand: Demand): Observable<stream.Video> {
    const key = `${request.id}/${request.encoding}/${request.fps}/${request.jpegQuality}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      const viewers = new Set<Demand>();
      const gate = new ReadGate(() => anyReady(viewers));
      const created: Upstream = {
        viewers,
        gate,
        frames: open({ ...request, maxFrames: 0 }, gate).pipe(
          // Runs when the last viewer left (or the match ended / failed).
          finalize(() => {
            if (this.upstreams.get(key) === created) this.upstreams.delete(key);
          }),
          share(),
        ),
      };
      upstream = created;
      this.upstreams.set(key, upstream);
    }
    const { frames, viewers, gate } = upstream;
    const viewer = new Observable<stream.Video>((subscriber) => {
      viewers.add(demand);
      demand.onReady(() => gate.wake());
      const subscription = frames.subscribe(subscriber);
      gate.wake();
      return () => {
        viewers.delete(demand);
        subscription.unsubscribe();
      };
    });
    return request.maxFrames > 0 ? viewer.pipe(take(request.maxFrames)) : viewer;
  }

  /** Upstream calls running now. */
  get size(): number {
    return this.upstreams.size;
  }
}

function anyReady(viewers: Iterable<Demand>): boolean {
  for (const viewer of viewers) if (viewer.ready) return true;
  return false;
}
