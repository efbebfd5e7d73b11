/** Order statistics over a sample of measurements (all in the same unit). */
export interface Summary {
  count: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The `p`-th percentile (0..100) of `sorted` (ascending), by the nearest-rank method: the
 * smallest value such that at least p% of the sample is at or below it. Throws on an empty sample.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Median (the mean of the two middle values for an even count) and nearest-rank percentiles. */
export function summarize(sample: readonly number[]): Summary {
  if (sample.length === 0) throw new RangeError('summary of an empty sample');
  const s = [...sample].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return {
    count: s.length,
    min: s[0]!,
    median,
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** Nanoseconds (from process.hrtime.bigint differences) to milliseconds / microseconds. */
export const nsToMs = (ns: bigint): number => Number(ns) / 1e6;
export const nsToUs = (ns: bigint): number => Number(ns) / 1e3;
