import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleSum } from './prometheus-text.js';

describe('parsePrometheusText', () => {
  it('reads what prom-client writes: labels, escapes, histograms, +Inf and types', async () => {
    const registry = new Registry();
    const counter = new Counter({
      name: 'things_total',
      help: 'Things.',
      labelNames: ['kind', 'note'],
      registers: [registry],
    });
    counter.inc({ kind: 'a', note: 'plain' }, 2);
    counter.inc({ kind: 'b', note: 'say "hi",\\ then\nleave} 1' }, 3);
    const histogram = new Histogram({
      name: 'wait_seconds',
      help: 'Waits.',
      buckets: [0.1, 1],
      registers: [registry],
    });
    histogram.observe(0.05);
    histogram.observe(5);

    const { samples, types } = parsePrometheusText(await registry.metrics());

    expect(types.get('things_total')).toBe('counter');
    expect(types.get('wait_seconds')).toBe('histogram');
    expect(samples).toContainEqual({
      name: 'things_total',
      labels: { kind: 'b', note: 'say "hi",\\ then\nleave} 1' },
      value: 3,
    });
    expect(sampleSum(samples, 'things_total')).toBe(5);
    expect(sampleSum(samples, 'things_total', { kind: 'a' })).toBe(2);
    expect(sampleSum(samples, 'wait_seconds_bucket', { le: '0.1' })).toBe(1);
    expect(sampleSum(samples, 'wait_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(sampleSum(samples, 'wait_seconds_count')).toBe(2);
    expect(sampleSum(samples, 'wait_seconds_sum')).toBeCloseTo(5.05);
  });

  it('reads special values and timestamps; a missing series sums to 0', () => {
    const { samples } = parsePrometheusText(
      'a +Inf\nb{x="1"} NaN\nc -Inf 1700000000000\nd{} 1.5e-3\ne Nan\n',
    );
    expect(samples.map((s) => s.value)).toEqual([Infinity, NaN, -Infinity, 0.0015, NaN]);
    expect(sampleSum(samples, 'nothing_total', { x: '1' })).toBe(0);
  });

  it.each([
    'metric{x="1"',
    'metric 1x',
    'metric{x=1} 2',
    'metric',
    '{x="1"} 2',
    'metric{x="1" y="2"} 3',
  ])('throws on a line it cannot read: %j', (line) => {
    expect(() => parsePrometheusText(line)).toThrow(/metric|labels|sample/);
  });
});
