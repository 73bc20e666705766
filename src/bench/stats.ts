/** Per-image milliseconds of one measurement series. */
export interface Timing {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

/** Nearest-rank percentiles: with fewer than 100 samples p99 is the slowest one. */
export function summarize(ms: readonly number[]): Timing {
  if (ms.length === 0) throw new RangeError('no samples to summarize');
  const sorted = [...ms].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  return { p50: rank(0.5), p99: rank(0.99), mean: sorted.reduce((s, x) => s + x, 0) / sorted.length };
}

/** The middle value; with an even count, the mean of the two middle ones (benchmarks' medians over rounds). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('no values to take the median of');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
