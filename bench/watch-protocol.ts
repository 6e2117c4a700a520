/** Messages and shared counters between watch.ts and watch.worker.ts. */

export const W_EVENTS = 0;
export const W_STOP = 1;

export interface WatchWorkerInput {
  /** one endpoint per stream this worker opens; each stream on its own channel */
  streamEndpoints: string[];
  firstStreamIndex: number;
  watchPerStream: number;
  watchedKeyTotal: number;
  keySize: number;
  counters: SharedArrayBuffer;
}

export interface WatchWorkerResult {
  histogram: string;
  events: number;
  lastEventMs: number;
  errors: Record<string, number>;
}

export type WatchWorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; result: WatchWorkerResult }
  | { type: 'fatal'; message: string };

/** Which key watcher j of stream s watches. */
export function watchedKeyOf(stream: number, watcher: number, watchPerStream: number, watchedKeyTotal: number): number {
  return (stream * watchPerStream + watcher) % watchedKeyTotal;
}
