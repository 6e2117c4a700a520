/**
 * Fault injection for the apply path, for the tests that prove an apply failure stops the
 * member before its batch commits (docs/testing.md). Off unless the environment variable is
 * set; then a batch holding a put to that key fails as a full disk or a bug would.
 */
import { etcdserverpb } from '../proto/pb.js';
import { ApplyFatalError, type PromisedRevisions } from '../apply/interface.js';
import type { ApplyResult } from '../apply/interface.js';
import { EntryType, type Entry } from '../raftpb/types.js';

/** A put to this key (UTF-8) makes its whole apply batch fail. */
export const FAULT_APPLY_PUT_KEY_ENV = 'ETCD_TS_FAULT_APPLY_PUT_KEY';

interface BatchApplier {
  appliedIndex(): number;
  applyEntries(entries: readonly Entry[], promised?: PromisedRevisions): ApplyResult[];
}

/** Returns `applier`, whose applyEntries fails batches with a put to the key named in `env` (when set). */
export function faultInjectingApplier<T extends BatchApplier>(applier: T, env: NodeJS.ProcessEnv): T {
  const key = env[FAULT_APPLY_PUT_KEY_ENV];
  if (key === undefined || key === '') return applier;
  const poison = Buffer.from(key, 'utf8');
  const inner = applier.applyEntries.bind(applier);
  applier.applyEntries = (entries, promised) => {
    for (const e of entries) {
      // Only requests (membership entries carry a ConfChangeV2, not an InternalRaftRequest).
      if (e.index <= applier.appliedIndex() || e.type !== EntryType.Normal || e.data.length === 0) continue;
      const put = etcdserverpb.InternalRaftRequest.decode(e.data).put;
      if (put?.key && poison.equals(put.key)) {
        throw new ApplyFatalError(`entry ${e.index}: injected apply failure (${FAULT_APPLY_PUT_KEY_ENV}=${key})`);
      }
    }
    return inner(entries, promised);
  };
  return applier;
}
