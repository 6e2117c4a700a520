/** Messages and shared counters between runner.ts and request.worker.ts. */
import type { BenchOptions } from './args.js';

export const CLAIMED = 0;
export const DONE = 1;
export const ERRORS = 2;
export const STOP = 3;

export interface WorkerInput {
  opts: BenchOptions;
  /** one endpoint per channel this worker opens */
  connEndpoints: string[];
  clients: number;
  firstClientIndex: number;
  /** this worker's share of --rate */
  rate: number;
  counters: SharedArrayBuffer;
  /** txn-put: mod_revision per key index, read before the run */
  modRevisions?: Float64Array;
}

export interface WorkerResult {
  histograms: Record<string, string>;
  errors: Record<string, number>;
  extra: Record<string, number>;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; result: WorkerResult } | { type: 'fatal'; message: string };
