/**
 * A pair of rings between the main thread and one worker (docs/threads.md "Worker channel").
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { createRing, RingConsumer, RingProducer } from './ring.js';

export interface ChannelBuffers {
  readonly toWorker: SharedArrayBuffer;
  readonly fromWorker: SharedArrayBuffer;
}

export interface StartWorkerOptions {
  /** Ring capacity main -> worker, power of two. */
  toWorkerBytes: number;
  /** Ring capacity worker -> main, power of two. */
  fromWorkerBytes: number;
  /** Extra workerData fields (structured-cloned once). */
  workerData?: Record<string, unknown>;
  name?: string;
  /** Passed through to the Worker constructor (execArgv, resourceLimits, ...). */
  workerOptions?: Omit<WorkerOptions, 'workerData' | 'name'>;
}

export interface MainChannel {
  readonly worker: Worker;
  /** main -> worker */
  readonly tx: RingProducer;
  /** worker -> main */
  readonly rx: RingConsumer;
}

export function createChannelBuffers(toWorkerBytes: number, fromWorkerBytes: number): ChannelBuffers {
  return { toWorker: createRing(toWorkerBytes), fromWorker: createRing(fromWorkerBytes) };
}

/** Starts `url` as a Worker with a fresh channel in `workerData.channel`. */
export function startWorkerChannel(url: URL, opts: StartWorkerOptions): MainChannel {
  const channel = createChannelBuffers(opts.toWorkerBytes, opts.fromWorkerBytes);
  const worker = new Worker(url, {
    // Note: workers inherit execArgv; a parent started as `node --input-type=module -e`
    // passes --input-type on and the worker fails to start. Run scripts from files.
    ...opts.workerOptions,
    name: opts.name ?? url.pathname,
    workerData: { ...opts.workerData, channel },
  });
  return { worker, tx: new RingProducer(channel.toWorker), rx: new RingConsumer(channel.fromWorker) };
}

export interface WorkerSide {
  /** main -> worker */
  readonly rx: RingConsumer;
  /** worker -> main */
  readonly tx: RingProducer;
}

/** Inside the worker: the mirror ends of the channel in `workerData.channel`. */
export function workerChannel(workerData: unknown): WorkerSide {
  const ch = (workerData as { channel?: ChannelBuffers } | null)?.channel;
  if (!ch || !(ch.toWorker instanceof SharedArrayBuffer) || !(ch.fromWorker instanceof SharedArrayBuffer)) {
    throw new Error('worker-channel: workerData.channel is missing');
  }
  return { rx: new RingConsumer(ch.toWorker), tx: new RingProducer(ch.fromWorker) };
}
