/** The result of one benchmark run, as printed by --json and read back by native-bench. */
import type { LatencySummary } from './stats.js';

export interface BenchResult {
  workload: string;
  /** the flags that shape the load, e.g. { clients: 100, conns: 10 } */
  params: Record<string, unknown>;
  /** completed requests (or delivered events for watch) */
  count: number;
  errors: Record<string, number>;
  errorCount: number;
  elapsedS: number;
  /** per second: requests, or events delivered for watch */
  throughput: number;
  latency: LatencySummary;
  /** per label, e.g. txn-mixed read and write */
  byOp?: Record<string, LatencySummary>;
  extra?: Record<string, number>;
  /** CPU seconds the generator process used during the measured interval (all its threads) */
  generatorCpuS?: number;
}
