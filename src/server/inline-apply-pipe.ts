/**
 * The applier on the calling thread, behind the same ApplyPipe contract as the apply worker
 * (style rule 4: both implementations at every thread boundary). Tests and the simulator run
 * the whole server core in one thread with it; production uses WorkerApplyPipe.
 */
import { LmdbBackend } from '../backend/backend.js';
import { Applier } from '../apply/applier.js';
import type { Entry } from '../raftpb/types.js';
import { faultInjectingApplier } from './apply-fault.js';
import { needsPhysicalCompaction, toOutcome } from './apply-outcome.js';
import type { ApplyOutcome, ApplyPipe, InstalledStore, PromisedRevisions } from './ports.js';
import { replaceStore } from '../backend/replace-store.js';

export interface OpenedApplyPipe {
  readonly pipe: ApplyPipe;
  /** Applied index stored in LMDB when it was opened. */
  readonly appliedIndex: number;
  readonly consistentTerm: number;
}

export class InlineApplyPipe implements ApplyPipe {
  readonly #backend: LmdbBackend;
  #applier: Applier;
  readonly #env: NodeJS.ProcessEnv;
  #failed: Error | undefined;
  #closed = false;
  #compacting = false;

  private constructor(backend: LmdbBackend, applier: Applier, env: NodeJS.ProcessEnv) {
    this.#backend = backend;
    this.#applier = applier;
    this.#env = env;
  }

  static open(dbPath: string, env: NodeJS.ProcessEnv = process.env): Promise<OpenedApplyPipe> {
    const backend = LmdbBackend.open({ path: dbPath, writable: true });
    const applier = faultInjectingApplier(new Applier({ backend }), env);
    const pipe = new InlineApplyPipe(backend, applier, env);
    return Promise.resolve({ pipe, appliedIndex: applier.appliedIndex(), consistentTerm: applier.consistentTerm() });
  }

  apply(entries: readonly Entry[], promised?: PromisedRevisions, eventsWanted = true): Promise<ApplyOutcome[]> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new Error('apply pipe closed'));
    try {
      const results = this.#applier.applyEntries(entries, promised);
      if (needsPhysicalCompaction(results)) while (this.#applier.compactStep()) { /* physical: to completion */ }
      this.#scheduleCompaction();
      return Promise.resolve(results.map((r) => toOutcome(r, eventsWanted)));
    } catch (err) {
      // As the worker does: after a failed batch nothing else is applied.
      this.#failed = err instanceof Error ? err : new Error(String(err));
      return Promise.reject(this.#failed);
    }
  }

  async flush(): Promise<void> {
    if (this.#failed) throw this.#failed;
    await this.#backend.flush();
  }

  async installSnapshot(path: string): Promise<InstalledStore> {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new Error('apply pipe closed');
    try {
      const installed = await replaceStore(this.#backend, path);
      await this.#backend.flush();
      // The applier's in-memory state (revision, compaction, membership) comes from the new store.
      this.#applier = faultInjectingApplier(new Applier({ backend: this.#backend }), this.#env);
      return installed;
    } catch (err) {
      this.#failed = err instanceof Error ? err : new Error(String(err));
      throw this.#failed;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#failed) while (this.#applier.compactStep()) { /* finish scheduled compaction before closing */ }
    await this.#backend.close();
  }

  /** Scheduled compaction runs in bounded slices between other work on this thread. */
  #scheduleCompaction(): void {
    if (this.#compacting || !this.#applier.compactor.pending) return;
    this.#compacting = true;
    const step = (): void => {
      if (this.#closed || this.#failed || !this.#applier.compactStep()) {
        this.#compacting = false;
        return;
      }
      setImmediate(step);
    };
    setImmediate(step);
  }
}
