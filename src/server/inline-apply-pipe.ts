/** The apply stage on the calling thread (tests, simulation): same contract as the worker. */
import { LmdbBackend } from '../backend/backend.js';
import { Applier } from '../apply/applier.js';
import type { Entry } from '../raft/types.js';
import type { ApplyOutcome, ApplyPipe } from './ports.js';
import { needsPhysicalCompaction, toOutcome } from './apply-outcome.js';

export class InlineApplyPipe implements ApplyPipe {
  readonly applier: Applier;
  readonly #backend: LmdbBackend;

  constructor(dbPath: string) {
    this.#backend = LmdbBackend.open({ path: dbPath, writable: true });
    this.applier = new Applier({ backend: this.#backend });
  }

  async apply(entries: readonly Entry[]): Promise<ApplyOutcome[]> {
    const results = this.applier.applyEntries(entries);
    if (needsPhysicalCompaction(results)) while (this.applier.compactStep()) { /* to completion */ }
    else if (this.applier.compactor.pending) this.applier.compactStep();
    return results.map(toOutcome);
  }

  flush(): Promise<void> {
    return this.#backend.flush();
  }

  async close(): Promise<void> {
    while (this.applier.compactStep()) { /* finish what was scheduled */ }
    await this.#backend.close(); // flushes
  }
}
