/**
 * Micro-benchmark: proposals committed per second through an in-memory 3-member raft
 * cluster (MemoryStorage, messages handed over in-process through the binary codec,
 * no fsync). Measures the raft core's cost per proposal, not I/O. Prints numbers,
 * never pass/fail.
 *
 *   node dist/bench/micro/raft.bench.js [--proposals N] [--batch B] [--size BYTES] [--no-codec] [--per-entry] [--big-ids]
 *
 * --big-ids: member IDs as etcd makes them (full 64-bit, 10-byte varints) instead of 1, 2, 3.
 */
import { decodeMessage, encodeMessage } from '../../src/raft/codec.js';
import { StateType, type Message } from '../../src/raft/messages.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { SeededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const PROPOSALS = arg('--proposals', 200_000);
const BATCH = arg('--batch', 64);
const SIZE = arg('--size', 128);
const CODEC = !process.argv.includes('--no-codec');
/** Propose one entry per MsgProp instead of one MsgProp per batch. */
const PER_ENTRY = process.argv.includes('--per-entry');
/** Full 64-bit member IDs (decision 0003), as a real cluster has them. */
const BIG_IDS = process.argv.includes('--big-ids');

interface BNode {
  raw: RawNode;
  storage: MemoryStorage;
  applied: number;
}

function run(): { seconds: number; committed: number } {
  const ids = BIG_IDS ? [0x8e9e05c52164694dn, 0x91bc3c398fb3c146n, 0xfd422379fda50e48n] : [1n, 2n, 3n];
  const cs = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const rng = new SeededRng(1);
  const nodes = new Map<bigint, BNode>();
  for (const id of ids) {
    const storage = new MemoryStorage(cs);
    const raw = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, maxInflightMsgs: 256, maxSizePerMsg: 1 << 20, rng: rng.fork() });
    nodes.set(id, { raw, storage, applied: 0 });
  }
  let queue: Message[] = [];
  const pump = (): void => {
    for (;;) {
      let moved = false;
      for (const n of nodes.values()) {
        if (!n.raw.hasReady()) continue;
        moved = true;
        const rd = n.raw.ready();
        if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
        n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        for (const m of rd.messages) queue.push(CODEC ? decodeMessage(encodeMessage(m)) : m);
        n.applied += rd.committedEntries.length;
        n.raw.advance();
      }
      if (queue.length === 0 && !moved) return;
      const q = queue;
      queue = [];
      for (const m of q) nodes.get(m.to)!.raw.step(m);
    }
  };
  const leader = nodes.get(ids[0]!)!;
  leader.raw.campaign();
  pump();
  if (leader.raw.raft.state !== StateType.Leader) throw new Error('no leader');
  const payload = new Uint8Array(SIZE);
  const base = leader.raw.raft.raftLog.committed;
  const t0 = performance.now();
  let proposed = 0;
  while (proposed < PROPOSALS) {
    if (PER_ENTRY) {
      for (let i = 0; i < BATCH && proposed < PROPOSALS; i++, proposed++) leader.raw.propose(payload);
    } else {
      const n = Math.min(BATCH, PROPOSALS - proposed);
      leader.raw.proposeBatch(new Array<Uint8Array>(n).fill(payload));
      proposed += n;
    }
    pump();
    // Keep the in-memory log bounded, as a server compacting after snapshots would.
    if (proposed % 16384 < BATCH) {
      for (const n of nodes.values()) {
        const applied = n.raw.raft.raftLog.applied;
        if (applied - 1000 > n.storage.firstIndex()) n.storage.compact(applied - 1000);
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, committed: leader.raw.raft.raftLog.committed - base };
}

run(); // warm-up
const r = run();
const perSec = r.committed / r.seconds;
const result = {
  name: 'raft.propose-commit.3-members.in-memory',
  date: new Date().toISOString(),
  node: process.version,
  proposals: r.committed,
  batch: BATCH,
  payloadBytes: SIZE,
  codec: CODEC,
  perEntry: PER_ENTRY,
  seconds: Number(r.seconds.toFixed(3)),
  proposalsCommittedPerSec: Math.round(perSec),
};
console.log(`${result.name}: ${result.proposalsCommittedPerSec.toLocaleString('en-US')} proposals committed/s (${r.committed} proposals, batch ${BATCH}, ${SIZE} B, codec ${CODEC ? 'on' : 'off'}${PER_ENTRY ? ', one MsgProp per entry' : ''}, ${r.seconds.toFixed(2)} s)`);
console.log(JSON.stringify(result));
