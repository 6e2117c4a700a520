/**
 * Raft safety invariants, checked continuously by the simulator:
 * - election safety: at most one leader per term;
 * - commit agreement: every node's claim "index i is committed" names the same entry
 *   (so a committed entry is never lost or changed on any node);
 * - state machine safety: nodes apply exactly the committed entries, in index order;
 * - leader completeness: a new leader's log holds every entry committed so far;
 * - log matching: same (index, term) => same entry and same prefix (checked at the end).
 */
import type { Raft } from '../../../src/raft/raft.js';
import type { Snapshot } from '../../../src/raft/messages.js';
import type { Entry, Index, NodeId, Term } from '../../../src/raftpb/types.js';

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

interface CommittedRecord {
  term: Term;
  /** null when only known from a snapshot's metadata. */
  data: Uint8Array | null;
  by: NodeId;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class RaftInvariants {
  private leaders = new Map<Term, NodeId>();
  private committed = new Map<Index, CommittedRecord>();
  maxCommitted: Index = 0;

  private fail(msg: string): never {
    throw new InvariantViolation(msg);
  }

  onLeader(id: NodeId, term: Term): void {
    const prev = this.leaders.get(term);
    if (prev === undefined) this.leaders.set(term, id);
    else if (prev !== id) this.fail(`election safety: two leaders in term ${term}: ${prev} and ${id}`);
  }

  leaderOf(term: Term): NodeId | undefined {
    return this.leaders.get(term);
  }

  /** Node `id` claims entry e is committed. */
  onCommitted(id: NodeId, e: Entry): void {
    const rec = this.committed.get(e.index);
    if (!rec) {
      this.committed.set(e.index, { term: e.term, data: e.data, by: id });
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      return;
    }
    if (rec.term !== e.term) this.fail(`commit agreement: node ${id} has committed entry ${e.index} with term ${e.term}, node ${rec.by} committed term ${rec.term}`);
    if (rec.data === null) rec.data = e.data;
    else if (!bytesEqual(rec.data, e.data)) this.fail(`commit agreement: node ${id} committed different data at index ${e.index} (term ${e.term}) than node ${rec.by}`);
  }

  onSnapshot(id: NodeId, s: Snapshot): void {
    const i = s.metadata.index;
    const rec = this.committed.get(i);
    if (rec && rec.term !== s.metadata.term) this.fail(`snapshot: node ${id} installed snapshot at ${i} term ${s.metadata.term}, committed term is ${rec.term}`);
    if (!rec) {
      this.committed.set(i, { term: s.metadata.term, data: null, by: id });
      if (i > this.maxCommitted) this.maxCommitted = i;
    }
  }

  /** Node applies entry e: it must be exactly the committed one. */
  onApply(id: NodeId, e: Entry, expectedIndex: Index): void {
    if (e.index !== expectedIndex) this.fail(`state machine safety: node ${id} applied index ${e.index}, expected ${expectedIndex}`);
    const rec = this.committed.get(e.index);
    if (!rec) this.fail(`state machine safety: node ${id} applied entry ${e.index} that nobody claimed committed`);
    if (rec.term !== e.term || (rec.data !== null && !bytesEqual(rec.data, e.data))) {
      this.fail(`state machine safety: node ${id} applied entry ${e.index}/${e.term} but the committed entry is term ${rec.term}`);
    }
  }

  /** A node is persisting entries; none may overwrite its own committed prefix. */
  onPersist(id: NodeId, ents: readonly Entry[], nodeCommit: Index): void {
    for (const e of ents) {
      if (e.index > nodeCommit) break;
      const rec = this.committed.get(e.index);
      if (rec && rec.term !== e.term) this.fail(`committed entry lost: node ${id} overwrote committed index ${e.index} (term ${rec.term}) with term ${e.term}`);
    }
  }

  /** Leader completeness: check when a node becomes leader. */
  onBecomeLeader(id: NodeId, r: Raft): void {
    const log = r.raftLog;
    if (log.lastIndex() < this.maxCommitted) {
      this.fail(`leader completeness: leader ${id} (term ${r.term}) has lastIndex ${log.lastIndex()} < committed ${this.maxCommitted}`);
    }
    for (let i = log.firstIndex(); i <= this.maxCommitted; i++) {
      const rec = this.committed.get(i);
      if (!rec) continue;
      const t = log.termOrNull(i);
      if (t !== rec.term) this.fail(`leader completeness: leader ${id} (term ${r.term}) has term ${t} at committed index ${i}, committed term ${rec.term}`);
    }
  }

  /** Log matching across the final logs of all nodes. */
  static checkLogMatching(logs: Map<NodeId, Entry[]>): void {
    const byIndexTerm = new Map<string, { id: NodeId; data: Uint8Array }>();
    for (const [id, ents] of logs) {
      for (const e of ents) {
        const k = `${e.index}/${e.term}`;
        const prev = byIndexTerm.get(k);
        if (!prev) byIndexTerm.set(k, { id, data: e.data });
        else if (!bytesEqual(prev.data, e.data)) throw new InvariantViolation(`log matching: nodes ${prev.id} and ${id} differ at index ${e.index} term ${e.term}`);
      }
    }
    const ids = [...logs.keys()];
    for (let a = 0; a < ids.length; a++) {
      for (let b = a + 1; b < ids.length; b++) {
        const la = logs.get(ids[a]!)!;
        const lb = logs.get(ids[b]!)!;
        const mb = new Map<Index, Term>();
        for (const e of lb) mb.set(e.index, e.term);
        // Highest common (index, term); every common index below it must agree.
        let hi = -1;
        for (const e of la) if (mb.get(e.index) === e.term) hi = Math.max(hi, e.index);
        for (const e of la) {
          if (e.index > hi) break;
          const t = mb.get(e.index);
          if (t !== undefined && t !== e.term) {
            throw new InvariantViolation(`log matching: nodes ${ids[a]} and ${ids[b]} agree at index ${hi} but differ at ${e.index} (${e.term} vs ${t})`);
          }
        }
      }
    }
  }
}
