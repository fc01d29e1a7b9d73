import { DURATION_BUCKETS_SECONDS } from './metrics-registry.js';

/**
 * Durations as plain numbers: how many fell in each bucket of
 * DURATION_BUCKETS_SECONDS (not cumulative), their count and their sum.
 * Observing one is an addition (prom-client's own observe() hashes the
 * labels every time); DurationHistogram reads them when scraped.
 */
export class DurationCounts {
  readonly buckets = new Float64Array(DURATION_BUCKETS_SECONDS.length);
  count = 0;
  seconds = 0;

  observe(seconds: number): void {
    this.count++;
    this.seconds += seconds;
    let i = 0;
    while (i < DURATION_BUCKETS_SECONDS.length && seconds > DURATION_BUCKETS_SECONDS[i]) i++;
    if (i < DURATION_BUCKETS_SECONDS.length) this.buckets[i]++;
  }
}

export type HistogramLabels = Readonly<Record<string, string | number>>;

/**
 * A histogram family as prom-client formats one, from DurationCounts kept
 * elsewhere (`series` lists them with their labels). Registered as a metric
 * of the registry (prom-client reads a metric through its get());
 * prom-client's own Histogram cannot be given counts, only single
 * observations.
 */
export class DurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => Iterable<readonly [HistogramLabels, DurationCounts]>,
  ) {}

  get() {
    const { name, help, type, aggregator } = this;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] =
      [];
    const bucket = `${name}_bucket`;
    for (const [labels, counts] of this.series()) {
      if (counts.count === 0) continue;
      let cumulative = 0;
      DURATION_BUCKETS_SECONDS.forEach((le, i) => {
        cumulative += counts.buckets[i];
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: bucket });
      });
      values.push(
        { labels: { ...labels, le: '+Inf' }, value: counts.count, metricName: bucket },
        { labels: { ...labels }, value: counts.seconds, metricName: `${name}_sum` },
        { labels: { ...labels }, value: counts.count, metricName: `${name}_count` },
      );
    }
    return Promise.resolve({ name, help, type, aggregator, values });
  }

  /** Registry.resetMetrics(): the counts are their owners', not reset from outside. */
  reset(): void {}
}
