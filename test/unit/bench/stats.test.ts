import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHistogram, median, mergeCounts, mergeEncoded, newHistogram, percentile, ratio, recordMs, relativeDiff, summarize, throughput } from '../../../bench/stats.js';

test('percentiles of 1..1000 ms from the histogram are within its 3-digit precision', () => {
  const h = newHistogram();
  for (let i = 1; i <= 1000; i++) recordMs(h, i);
  const s = summarize(h);
  assert.equal(s.count, 1000);
  const near = (a: number, b: number): void => assert.ok(Math.abs(a - b) / b < 0.002, `${a} vs ${b}`);
  near(s.p50Ms, 500);
  near(s.p90Ms, 900);
  near(s.p99Ms, 990);
  near(s.p999Ms, 999);
  near(s.maxMs, 1000);
  near(s.meanMs, 500.5);
});

test('sub-millisecond latencies keep microsecond resolution', () => {
  const h = newHistogram();
  recordMs(h, 0.123);
  assert.equal(summarize(h).p50Ms, 0.123);
});

test('an empty histogram summarizes to zeros', () => {
  assert.deepEqual(summarize(newHistogram()), { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });
});

test('histograms from workers merge through their encoded form', () => {
  const a = newHistogram();
  const b = newHistogram();
  for (let i = 0; i < 100; i++) recordMs(a, 1);
  for (let i = 0; i < 100; i++) recordMs(b, 10);
  const all = newHistogram();
  mergeEncoded(all, encodeHistogram(a));
  mergeEncoded(all, encodeHistogram(b));
  const s = summarize(all);
  assert.equal(s.count, 200);
  assert.equal(s.p50Ms, 1);
  assert.ok(Math.abs(s.p90Ms - 10) < 0.01);
});

test('median: odd, even, empty, ignores NaN', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(median([NaN, 5, 7, 6]), 6);
});

test('nearest-rank percentile', () => {
  const v = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(v, 50), 50);
  assert.equal(percentile(v, 99), 99);
  assert.equal(percentile(v, 100), 100);
  assert.equal(percentile(v, 0), 1);
});

test('ratios and relative differences; missing sides give NaN', () => {
  assert.equal(ratio(12, 10), 1.2);
  assert.ok(Number.isNaN(ratio(1, 0)));
  assert.ok(Number.isNaN(ratio(NaN, 1)));
  assert.ok(Math.abs(relativeDiff(85, 100) - 0.15) < 1e-12);
  assert.ok(Math.abs(relativeDiff(115, 100) - 0.15) < 1e-12);
});

test('throughput and error count merging', () => {
  assert.equal(throughput(500, 250), 2000);
  assert.equal(throughput(5, 0), 0);
  assert.deepEqual(mergeCounts({ A: 1 }, { A: 2, B: 1 }), { A: 3, B: 1 });
});
