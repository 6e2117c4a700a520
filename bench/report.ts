/** Prints a BenchResult: a human table, or one JSON line with --json. */
import type { BenchResult } from './result.js';
import type { LatencySummary } from './stats.js';

const fmt = (x: number, d = 2): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function latencyRow(name: string, l: LatencySummary): string {
  return `${name.padEnd(8)} ${String(l.count).padStart(9)} ${[l.meanMs, l.p50Ms, l.p90Ms, l.p99Ms, l.p999Ms, l.maxMs].map((x) => fmt(x, 3).padStart(9)).join(' ')}`;
}

export function formatHuman(r: BenchResult): string {
  const lines: string[] = [];
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  lines.push(`${r.workload}  ${params}`);
  const unit = r.workload.startsWith('watch') ? 'events/s' : 'requests/s';
  lines.push(`  ${fmt(r.throughput, 1)} ${unit}  (${r.count} in ${fmt(r.elapsedS, 2)} s, ${r.errorCount} errors)`);
  lines.push(`  latency ms   count      mean       p50       p90       p99     p99.9       max`);
  lines.push(`  ${latencyRow('all', r.latency)}`);
  for (const [k, l] of Object.entries(r.byOp ?? {})) lines.push(`  ${latencyRow(k, l)}`);
  for (const [k, v] of Object.entries(r.extra ?? {})) lines.push(`  ${k}: ${fmt(v, Number.isInteger(v) ? 0 : 3)}`);
  if (r.generatorCpuS !== undefined) lines.push(`  generator CPU: ${fmt(r.generatorCpuS, 2)} s (${fmt((100 * r.generatorCpuS) / Math.max(r.elapsedS, 1e-9), 0)}% of one core)`);
  for (const [k, v] of Object.entries(r.errors)) lines.push(`  error ${k}: ${v}`);
  return lines.join('\n');
}

export function formatJson(r: BenchResult): string {
  return JSON.stringify(r);
}
