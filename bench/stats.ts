/**
 * Result math: latency histograms (hdr-histogram-js, microseconds), summaries, medians
 * and ratios. Pure apart from the histogram library, so it is unit-tested.
 */
import * as hdr from 'hdr-histogram-js';

/** Latencies are recorded in microseconds, from 1 us to 10 minutes, 3 significant digits. */
export const LATENCY_US_MAX = 600_000_000;

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_US_MAX,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/** Records one latency in milliseconds (clamped into the histogram's range). */
export function recordMs(h: Histogram, ms: number): void {
  const us = Math.round(ms * 1000);
  h.recordValue(us < 1 ? 1 : us > LATENCY_US_MAX ? LATENCY_US_MAX : us);
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function mergeEncoded(into: Histogram, encoded: string): void {
  if (encoded.length === 0) return;
  const h = hdr.decodeFromCompressedBase64(encoded, 64, false);
  into.add(h);
  h.destroy();
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function summarize(h: Histogram): LatencySummary {
  const at = (p: number): number => (h.totalCount === 0 ? 0 : round3(h.getValueAtPercentile(p) / 1000));
  return {
    count: h.totalCount,
    meanMs: h.totalCount === 0 ? 0 : round3(h.mean / 1000),
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs: h.totalCount === 0 ? 0 : round3(h.maxValue / 1000),
  };
}

/** Nearest-rank percentile of an unsorted sample (for figures that are not latencies). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

/** Median; the mean of the two middle values for an even count. NaN when empty. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** a / b, or NaN when either side is missing or b is zero. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return NaN;
  return a / b;
}

/** Relative difference |a - b| / b, used to check the generator against another client. */
export function relativeDiff(a: number, b: number): number {
  return Math.abs(ratio(a - b, b));
}

/** Requests per second, 0 for an empty interval. */
export function throughput(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : (count * 1000) / elapsedMs;
}

/** Sums per-code error counts from several workers. */
export function mergeCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}
