/**
 * Fault injection for the apply path, for the tests that prove an apply failure stops the
 * member before its batch commits (docs/testing.md). Off unless the environment variable is
 * set; then a batch holding a put to that key fails as a full disk or a bug would.
 */
import { etcdserverpb } from '../proto/pb.js';
import { ApplyFatalError, type PromisedRevisions } from '../apply/interface.js';
import type { ApplyResult } from '../apply/interface.js';
import { RerunWithout } from '../apply/applier.js';
import { EntryType, type Entry } from '../raftpb/types.js';

/** A put to this key (UTF-8) makes its whole apply batch fail. */
export const FAULT_APPLY_PUT_KEY_ENV = 'ETCD_TS_FAULT_APPLY_PUT_KEY';
/**
 * A put to this key (UTF-8) fails after it wrote, in the apply worker's open transaction (as
 * a bug caught mid-entry would): the worker must abort the whole transaction and apply it
 * again with that put answered by `etcdserver: requested lease not found` (apply.worker.ts).
 */
export const FAULT_APPLY_MIDWAY_KEY_ENV = 'ETCD_TS_FAULT_APPLY_MIDWAY_KEY';

/** The key of a put entry; undefined for any other (membership entries carry a ConfChangeV2, not a request). */
function putKey(e: Entry): Uint8Array | undefined {
  if (e.type !== EntryType.Normal || e.data.length === 0) return undefined;
  return etcdserverpb.InternalRaftRequest.decode(e.data).put?.key ?? undefined;
}

interface BatchApplier {
  appliedIndex(): number;
  currentRevision(): number;
  applyEntries(entries: readonly Entry[], promised?: PromisedRevisions): ApplyResult[];
  applyInOpenTxn(entries: readonly Entry[], promised?: PromisedRevisions, failed?: ReadonlyMap<number, ApplyResult>): ApplyResult[];
}

/** Returns `applier`, whose applyEntries fails batches with a put to the key named in `env` (when set). */
export function faultInjectingApplier<T extends BatchApplier>(applier: T, env: NodeJS.ProcessEnv): T {
  const midway = env[FAULT_APPLY_MIDWAY_KEY_ENV];
  if (midway !== undefined && midway !== '') failMidway(applier, Buffer.from(midway, 'utf8'));
  const key = env[FAULT_APPLY_PUT_KEY_ENV];
  if (key === undefined || key === '') return applier;
  const poison = Buffer.from(key, 'utf8');
  const check = (entries: readonly Entry[]): void => {
    for (const e of entries) {
      if (e.index <= applier.appliedIndex()) continue;
      const k = putKey(e);
      if (k !== undefined && poison.equals(k)) {
        throw new ApplyFatalError(`entry ${e.index}: injected apply failure (${FAULT_APPLY_PUT_KEY_ENV}=${key})`);
      }
    }
  };
  const inner = applier.applyEntries.bind(applier);
  applier.applyEntries = (entries, promised) => {
    check(entries);
    return inner(entries, promised);
  };
  const innerOpen = applier.applyInOpenTxn.bind(applier);
  applier.applyInOpenTxn = (entries, promised, failed) => {
    check(entries);
    return innerOpen(entries, promised, failed);
  };
  return applier;
}

function failMidway(applier: BatchApplier, poison: Buffer): void {
  const inner = applier.applyInOpenTxn.bind(applier);
  applier.applyInOpenTxn = (entries, promised, failed) => {
    const i = entries.findIndex((e) => e.index > applier.appliedIndex() && failed?.has(e.index) !== true && poison.equals(putKey(e) ?? new Uint8Array(0)));
    if (i < 0) return inner(entries, promised, failed);
    inner(entries.slice(0, i), promised, failed);
    const revision = applier.currentRevision();
    const e = entries[i]!;
    inner([e], promised, failed); // the put itself: written, then the failure
    const requestId = etcdserverpb.InternalRaftRequest.decode(e.data).header?.ID ?? 0n;
    throw new RerunWithout({ index: e.index, requestId, revision, kind: 'put', events: [], errorCode: 'ETCD_ERR_LEASE_NOT_FOUND' });
  };
}
