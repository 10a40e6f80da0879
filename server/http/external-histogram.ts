// A histogram whose buckets are counted elsewhere (the engine's TaskStats, with plain numbers on the
// hot path), exposed as a prom-client metric so the registry formats it like its own histograms.
import type { Metric, Registry } from 'prom-client';

/** One labelled series: runs per bucket (not cumulative, one slot past the last bound), their sum and count. */
export interface HistogramCounts {
  labels: Readonly<Record<string, string>>;
  buckets: readonly number[];
  sum: number;
  count: number;
}

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * What prom-client's Registry reads of a metric: name, help, type, aggregator, get() and reset().
 * prom-client's Histogram can only be fed one observation at a time, which would put its label
 * hashing on the task path; this reads the counts on a scrape instead.
 */
export class ExternalHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series: readonly HistogramCounts[] = [];

  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The counts the next get() shows (set just before the registry is read). */
  set(series: readonly HistogramCounts[]): void {
    this.series = series;
  }

  reset(): void {
    this.series = [];
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const s of this.series) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.buckets[i] ?? 0;
        values.push({ labels: { ...s.labels, le: this.bounds[i]! }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
