/**
 * How clients, channels and --rate are spread over worker threads. Pure, unit-tested.
 */
import { splitEven } from './rate.js';

export interface WorkerShare {
  clients: number;
  firstClientIndex: number;
  connEndpoints: string[];
  rate: number;
}

/** Threads: asked for, else one per CPU, never more than clients or channels. */
export function threadCount(asked: number, clients: number, conns: number, cpus: number): number {
  const t = asked > 0 ? asked : Math.max(1, cpus);
  return Math.max(1, Math.min(t, clients, conns));
}

/**
 * Gives each thread a whole number of channels (round-robin over endpoints) and the clients
 * that use them, so no channel is shared between threads.
 */
export function planWorkers(threads: number, clients: number, conns: number, endpoints: readonly string[], rate: number): WorkerShare[] {
  const connShares = splitEven(conns, threads);
  const shares: WorkerShare[] = [];
  let connIndex = 0;
  let clientIndex = 0;
  for (let t = 0; t < threads; t++) {
    const myConns = connShares[t]!;
    const connEndpoints = Array.from({ length: myConns }, (_, i) => endpoints[(connIndex + i) % endpoints.length]!);
    // clients follow channels: a thread with more channels gets proportionally more clients
    const end = Math.round((clients * (connIndex + myConns)) / conns);
    shares.push({ clients: end - clientIndex, firstClientIndex: clientIndex, connEndpoints, rate: (rate * (end - clientIndex)) / clients });
    connIndex += myConns;
    clientIndex = end;
  }
  return shares;
}
