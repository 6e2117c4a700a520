/** A tiny synchronous cluster harness for raft unit tests (etcd: raft_test.go's network). */
import { MessageType, type Message, type Ready } from '../../src/raft/messages.js';
import { ReadOnlyOption } from '../../src/raft/read-only.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { SeededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { Config } from '../../src/raft/raft.js';
import { EntryType, type Entry, type NodeId } from '../../src/raftpb/types.js';

export interface TestNode {
  id: NodeId;
  raw: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: { index: number; ctx: string }[];
}

export class TestCluster {
  nodes = new Map<NodeId, TestNode>();
  /** Messages in flight (delivered by deliverAll). */
  inflight: Message[] = [];
  /** Drop messages matching this filter. */
  filter: ((m: Message) => boolean) | null = null;

  constructor(ids: NodeId[], opts: Partial<Config> = {}, learners: NodeId[] = [], seed = 1) {
    const rng = new SeededRng(seed);
    for (const id of [...ids, ...learners]) {
      const storage = new MemoryStorage({ voters: ids, learners, votersOutgoing: [], learnersNext: [], autoLeave: false });
      const raw = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, maxInflightMsgs: 256, rng: rng.fork(), readOnlyOption: ReadOnlyOption.Safe, ...opts });
      this.nodes.set(id, { id, raw, storage, applied: [], readStates: [] });
    }
  }

  node(id: NodeId): TestNode {
    return this.nodes.get(id)!;
  }

  /** Handles every pending Ready (persist, queue messages, apply). */
  processReadies(): boolean {
    let any = false;
    for (const n of this.nodes.values()) {
      while (n.raw.hasReady()) {
        any = true;
        const rd: Ready = n.raw.ready();
        if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
        n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        for (const m of rd.messages) if (!this.filter || !this.filter(m)) this.inflight.push(m);
        for (const e of rd.committedEntries) {
          n.applied.push(e);
          if (e.type === EntryType.ConfChangeV2) n.raw.applyConfChange(RawNode.decodeConfChange(e));
        }
        for (const rs of rd.readStates) n.readStates.push({ index: rs.index, ctx: new TextDecoder().decode(rs.requestCtx) });
        n.raw.advance();
      }
    }
    return any;
  }

  /** Delivers messages until quiet. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      const moved = this.processReadies();
      if (this.inflight.length === 0 && !moved) return;
      const msgs = this.inflight;
      this.inflight = [];
      for (const m of msgs) {
        const n = this.nodes.get(m.to);
        if (n) n.raw.step(m);
      }
    }
    throw new Error('did not stabilize');
  }

  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.raw.tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).raw.campaign();
    this.stabilize();
  }

  dataApplied(id: NodeId): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const isType = (t: MessageType) => (m: Message) => m.type === t;
