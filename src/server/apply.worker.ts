/**
 * The apply worker: the only writer of the LMDB environment (design.md "Apply worker").
 *
 * workerData: { channel (worker-channel.ts), dbPath, batchIntervalMs, batchLimit }.
 * Control messages to the parent (postMessage): { type: 'ready', appliedIndex, consistentTerm }
 * once LMDB is open, { type: 'fatal', message } before exiting on an error.
 * Hot path: entry batches arrive on the channel's rx ring, outcome frames leave on tx,
 * one outcome frame per batch, in order, as soon as the batch is applied; batches go into one
 * LMDB write transaction kept open until the commit policy commits it, and a visible frame
 * follows each commit (docs/architecture.md "Apply channel frames", "Deferred commits").
 * With no transaction open it runs bounded slices of physical compaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LmdbBackend } from '../backend/backend.js';
import { Applier, RerunWithout } from '../apply/applier.js';
import type { ApplyResult } from '../apply/interface.js';
import { workerChannel } from '../threads/worker-channel.js';
import { ByteWriter } from '../threads/frame.js';
import {
  decodeEntryBatch, encodeOutcomes, encodeVisible, installFramePath, isCommitRequest, isFlushFrame, OVERSIZE_MARKER, type EntryBatch,
} from './apply-frames.js';
import { CommitPolicy, DEFAULT_BATCH_INTERVAL_MS, DEFAULT_BATCH_LIMIT, type CommitPolicyOptions } from './commit-policy.js';
import { APPLY_TXN_BYTES_MAX } from '../apply/applier.js';
import { replaceStore } from '../backend/replace-store.js';
import type { Entry } from '../raftpb/types.js';
import { faultInjectingApplier } from './apply-fault.js';
import { needsPhysicalCompaction, toOutcome } from './apply-outcome.js';
import { lowerThisThreadPriority } from '../threads/thread-priority.js';

/** The apply worker's nice value: below the main thread's, so waking it does not preempt it (thread-priority.ts). */
const APPLY_NICE = 10;

/** How long the loop sleeps waiting for a batch when there is no compaction work (ms). */
const IDLE_WAIT_MS = 1000;

/**
 * Benchmarks and the power-loss test's canary only: ETCD_TS_LMDB_SYNC_MODE=noSync opens LMDB
 * without commit syncs (unsafe on power loss; docs/storage-lmdb.md). Unset: the default.
 */
function syncModeForTests(env: NodeJS.ProcessEnv): { syncMode?: 'noSync' | 'noMetaSync' } {
  const v = env['ETCD_TS_LMDB_SYNC_MODE'];
  if (v === undefined || v === '') return {};
  if (v !== 'noSync' && v !== 'noMetaSync') throw new Error(`ETCD_TS_LMDB_SYNC_MODE must be noSync or noMetaSync, got ${JSON.stringify(v)}`);
  return { syncMode: v };
}

/** workerData of the apply worker (besides the channel). */
export interface ApplyWorkerData {
  readonly dbPath: string;
  /** --backend-batch-interval in ms; 0 or absent: etcd's default. */
  readonly batchIntervalMs?: number;
  /** --backend-batch-limit; 0 or absent: etcd's default. */
  readonly batchLimit?: number;
}

function commitOptions(d: ApplyWorkerData): CommitPolicyOptions {
  return {
    intervalMs: d.batchIntervalMs !== undefined && d.batchIntervalMs > 0 ? d.batchIntervalMs : DEFAULT_BATCH_INTERVAL_MS,
    limitEntries: d.batchLimit !== undefined && d.batchLimit > 0 ? d.batchLimit : DEFAULT_BATCH_LIMIT,
    limitBytes: APPLY_TXN_BYTES_MAX,
  };
}

type Frame =
  | { readonly kind: 'batch'; readonly batch: EntryBatch }
  | { readonly kind: 'flush' }
  | { readonly kind: 'commit' }
  | { readonly kind: 'install'; readonly path: string };

async function main(): Promise<void> {
  const { dbPath } = workerData as ApplyWorkerData;
  lowerThisThreadPriority(APPLY_NICE);
  const { rx, tx } = workerChannel(workerData);
  const backend = LmdbBackend.open({ path: dbPath, writable: true, ...syncModeForTests(process.env) });
  let applier = faultInjectingApplier(new Applier({ backend }), process.env);
  parentPort!.postMessage({ type: 'ready', appliedIndex: applier.appliedIndex(), consistentTerm: applier.consistentTerm() });

  const out = new ByteWriter(64 * 1024);
  let oversizeSeq = 0;
  /**
   * Outcome frames go on the ring. One too big for it (a txn whose reads return many
   * megabytes) goes by postMessage, and an 8-byte marker with its sequence number takes its
   * place on the ring, so the main thread still sees outcomes in batch order.
   */
  const sendOutcomes = (frame: Uint8Array): void => {
    if (frame.length <= tx.maxPayloadBytes) {
      tx.writeBlocking(frame);
      return;
    }
    const seq = ++oversizeSeq;
    const copy = frame.slice();
    parentPort!.postMessage({ type: 'outcomes', seq, frame: copy }, [copy.buffer]);
    const marker = new Uint8Array(8);
    const dv = new DataView(marker.buffer);
    dv.setUint32(0, OVERSIZE_MARKER, true);
    dv.setUint32(4, seq, true);
    tx.writeBlocking(marker);
  };
  /** Frames drained from the ring and not handled yet, in order, from `head` on. */
  let frames: Frame[] = [];
  let head = 0;
  const collect = (bytes: Uint8Array, offset: number, length: number): void => {
    const install = installFramePath(bytes, offset, length);
    if (install !== undefined) frames.push({ kind: 'install', path: install });
    else if (isFlushFrame(bytes, offset, length)) frames.push({ kind: 'flush' });
    else if (isCommitRequest(bytes, offset, length)) frames.push({ kind: 'commit' });
    else frames.push({ kind: 'batch', batch: decodeEntryBatch(bytes, offset, length) });
  };
  /** Drains the ring when every drained frame is handled. Returns whether a frame is waiting. */
  const next = (): boolean => {
    if (head >= frames.length) {
      frames = [];
      head = 0;
      rx.drain(collect);
    }
    return head < frames.length;
  };

  /** Last entry applied, and last entry in a committed transaction (the last visible frame sent). */
  let appliedThrough = applier.appliedIndex();
  let visibleThrough = appliedThrough;
  const policy = new CommitPolicy(commitOptions(workerData as ApplyWorkerData));

  /**
   * Applies entry batches in one write transaction kept open across batches, until the commit
   * policy says commit or a frame that must run outside it arrives (flush, install, close);
   * then commits and tells the main thread what is visible. Batches run directly in it (a
   * child transaction each would cost LMDB a 2 MiB dirty list per batch); an entry that fails
   * after it wrote aborts the whole transaction, which runs again without that entry's writes
   * (runTransaction). An outcome frame leaves as soon as its batch is applied.
   */
  /** Groups of batches applied in the open transaction, and how many had their outcomes sent. */
  let txnGroups: EntryBatch[][] = [];
  let sentGroups = 0;
  /** Entries that failed after writing, answered by their error when the transaction is run again. */
  const failed = new Map<number, ApplyResult>();

  const runTransaction = (): void => {
    for (;;) {
      try {
        openTransaction();
        break;
      } catch (err) {
        if (!(err instanceof RerunWithout)) throw err;
        // LMDB aborted the whole transaction: start again from the store, this entry answered
        // by its error; the groups whose outcomes were sent apply again to the same results.
        failed.set(err.result.index, err.result);
        applier = faultInjectingApplier(new Applier({ backend }), process.env);
        appliedThrough = applier.appliedIndex();
      }
    }
    txnGroups = [];
    sentGroups = 0;
    failed.clear();
    if (appliedThrough > visibleThrough) {
      tx.writeBlocking(encodeVisible(appliedThrough));
      visibleThrough = appliedThrough;
    }
  };

  const openTransaction = (): void => {
    policy.opened(performance.now());
    backend.write(() => {
      // A run after an abort: everything the aborted transaction held, first, then a prompt
      // commit (a commit request the aborted run took from the ring is not lost).
      const again = txnGroups;
      txnGroups = [];
      for (const group of again) applyGroup(group);
      if (again.length > 0) policy.request();
      for (;;) {
        const group: EntryBatch[] = [];
        while (next()) {
          const f = frames[head]!;
          if (f.kind === 'batch') {
            group.push(f.batch);
            head++;
          } else if (f.kind === 'commit') {
            head++;
            policy.request();
            break;
          } else {
            policy.request(); // a flush or install runs after this transaction
            break;
          }
        }
        applyGroup(group);
        const now = performance.now();
        if (policy.due(now) || rx.isDone()) return;
        if (!next()) rx.waitReadable(Math.max(1, policy.remainingMs(now)));
      }
    });
  };

  /** Applies a group in the open transaction; sends its outcomes unless they were sent before an abort. */
  const applyGroup = (group: EntryBatch[]): void => {
    if (group.length === 0) return;
    txnGroups.push(group);
    const batches = group.map((b) => b.entries);
    const all: Entry[] = batches.length === 1 ? batches[0]! : batches.flat();
    const promised = group.length === 1 ? group[0]!.promised : new Map(group.flatMap((b) => [...b.promised]));
    const results = applier.applyInOpenTxn(all, promised, failed);
    if (needsPhysicalCompaction(results)) while (applier.compactStep()) { /* physical: to completion */ }
    let bytes = 0;
    for (const e of all) bytes += e.data.length;
    policy.applied(all.length, bytes, results);
    if (all.length > 0) appliedThrough = Math.max(appliedThrough, all[all.length - 1]!.index);
    if (txnGroups.length <= sentGroups) return; // sent before the abort; the same results again
    sentGroups = txnGroups.length;
    let k = 0;
    for (const { entries: batch, eventsWanted: withEvents } of group) {
      const last = batch.length > 0 ? batch[batch.length - 1]!.index : -1;
      const from = k;
      while (k < results.length && results[k]!.index <= last) k++;
      sendOutcomes(encodeOutcomes(results.slice(from, k).map((r) => toOutcome(r, withEvents)), out));
    }
  };

  // The loop blocks in Atomics.wait between frames (it wakes in microseconds, where
  // waitAsync needs a turn of this thread's event loop); nothing else runs on this thread
  // until the ring is closed.
  for (;;) {
    if (next()) {
      const f = frames[head]!;
      if (f.kind === 'batch') {
        runTransaction();
        // One slice of physical compaction after each transaction, so a steady stream of
        // batches does not starve it (with nothing waiting, the loop below runs the rest).
        if (applier.compactor.pending) applier.compactStep();
      } else if (f.kind === 'commit') {
        head++; // nothing is open: everything applied is visible already
      } else if (f.kind === 'flush') {
        head++;
        await backend.flush();
        sendOutcomes(encodeOutcomes([], out));
      } else {
        head++;
        // A Raft snapshot replaces the store (docs/cluster.md, "Snapshots to lagging followers").
        const installed = await replaceStore(backend, f.path);
        await backend.flush();
        applier = faultInjectingApplier(new Applier({ backend }), process.env);
        appliedThrough = visibleThrough = installed.appliedIndex;
        sendOutcomes(encodeOutcomes([{ index: installed.appliedIndex, requestId: BigInt(installed.consistentTerm), revision: installed.currentRevision }], out));
      }
      continue;
    }
    if (rx.isDone()) break;
    if (applier.compactor.pending) {
      applier.compactStep();
      continue;
    }
    rx.waitReadable(IDLE_WAIT_MS);
  }
  while (applier.compactStep()) { /* finish scheduled compaction before closing */ }
  await backend.close(); // flushes LMDB
  tx.close();
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error ? err.stack : undefined;
  parentPort?.postMessage({ type: 'fatal', message, stack });
  process.exit(1);
});
