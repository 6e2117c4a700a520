/**
 * The apply worker: the only writer of the LMDB environment (design.md "Apply worker").
 *
 * workerData: { channel (worker-channel.ts), dbPath }.
 * Control messages to the parent (postMessage): { type: 'ready', appliedIndex, consistentTerm }
 * once LMDB is open, { type: 'fatal', message } before exiting on an error.
 * Hot path: entry batches arrive on the channel's rx ring, outcome frames leave on tx,
 * one outcome frame per batch, in order (docs/architecture.md "Apply channel frames");
 * batches waiting together are applied in one LMDB transaction.
 * Between batches it runs bounded slices of physical compaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LmdbBackend } from '../backend/backend.js';
import { Applier } from '../apply/applier.js';
import { workerChannel } from '../threads/worker-channel.js';
import { ByteWriter } from '../threads/frame.js';
import { decodeEntryBatch, encodeOutcomes, installFramePath, isFlushFrame, OVERSIZE_MARKER, type EntryBatch } from './apply-frames.js';
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

async function main(): Promise<void> {
  const { dbPath } = workerData as { dbPath: string };
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
  /** Frames drained from the ring, in order: entry batches, flush requests (null), snapshot installs (a path). */
  let frames: (EntryBatch | null | string)[] = [];
  const collect = (bytes: Uint8Array, offset: number, length: number): void => {
    const install = installFramePath(bytes, offset, length);
    frames.push(install !== undefined ? install : isFlushFrame(bytes, offset, length) ? null : decodeEntryBatch(bytes, offset, length));
  };
  /**
   * Applies the batches waiting on the ring, consecutive ones in one LMDB transaction (a
   * commit costs the same for 1 entry or 1,000), answering one outcome frame per batch in
   * order; a flush request syncs LMDB and is answered with an empty outcome frame.
   */
  const applyWaiting = async (): Promise<void> => {
    if (rx.drain(collect) === 0) return;
    const todo = frames;
    frames = [];
    let group: EntryBatch[] = [];
    for (const f of todo) {
      if (typeof f === 'string') {
        // A Raft snapshot replaces the store (docs/cluster.md, "Snapshots to lagging followers").
        applyGroup(group);
        group = [];
        const installed = await replaceStore(backend, f);
        await backend.flush();
        applier = faultInjectingApplier(new Applier({ backend }), process.env);
        sendOutcomes(encodeOutcomes([{ index: installed.appliedIndex, requestId: BigInt(installed.consistentTerm), revision: installed.currentRevision }], out));
        continue;
      }
      if (f !== null) {
        group.push(f);
        continue;
      }
      applyGroup(group);
      group = [];
      await backend.flush();
      sendOutcomes(encodeOutcomes([], out));
    }
    applyGroup(group);
  };
  const applyGroup = (group: EntryBatch[]): void => {
    if (group.length === 0) return;
    const batches = group.map((b) => b.entries);
    const all: Entry[] = batches.length === 1 ? batches[0]! : batches.flat();
    const promised = group.length === 1 ? group[0]!.promised : new Map(group.flatMap((b) => [...b.promised]));
    const results = applier.applyEntries(all, promised);
    if (needsPhysicalCompaction(results)) while (applier.compactStep()) { /* physical: to completion */ }
    let k = 0;
    for (const batch of batches) {
      const last = batch.length > 0 ? batch[batch.length - 1]!.index : -1;
      const from = k;
      while (k < results.length && results[k]!.index <= last) k++;
      sendOutcomes(encodeOutcomes(results.slice(from, k).map(toOutcome), out));
    }
  };

  // The loop blocks in Atomics.wait between batches (it wakes in microseconds, where
  // waitAsync needs a turn of this thread's event loop); nothing else runs on this thread
  // until the ring is closed.
  for (;;) {
    await applyWaiting();
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
