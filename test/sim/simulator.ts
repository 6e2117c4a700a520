/**
 * Deterministic simulation of a raft cluster (VOPR-style, TigerBeetle's vopr.zig shape).
 *
 * One seeded PRNG drives everything: a virtual clock (10 time units per tick), a network
 * that drops, delays (hence reorders), duplicates and partitions messages, crashes that
 * lose everything not yet persisted, restarts from persisted state, membership changes,
 * leadership transfers, snapshots and compaction, and client writes and ReadIndex reads
 * against a key-value state machine.
 *
 * A run has a safety phase (faults on, invariants checked after every event) followed by
 * a liveness phase (faults healed; a leader must be elected and a proposal must commit
 * on every member within a bounded number of ticks). At the end the client history must
 * be linearizable and all logs must satisfy log matching.
 */
import { decodeConfChangeV2, decodeMessage, encodeMessage } from '../../src/raft/codec.js';
import {
  ConfChangeTransition,
  ConfChangeType,
  MessageType,
  StateType,
  type ConfChangeSingle,
  type ConfState,
  type Message,
  type Ready,
} from '../../src/raft/messages.js';
import type { MutationName } from '../../src/raft/mutations.js';
import { ReadOnlyOption } from '../../src/raft/read-only.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { SeededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { EntryType, type Entry, type Index, type NodeId } from '../../src/raftpb/types.js';
import { checkHistory, type KvOp } from './checkers/linearizability.js';
import { InvariantViolation, RaftInvariants } from './checkers/invariants.js';
import { EventQueue } from './event-queue.js';
import { KvStateMachine, decodeCommand, encodeCommand, opKey } from './kv.js';
import { Network } from './network.js';

/** Virtual time units per raft tick. */
export const TICK = 10;
/** Linearizability search steps per key; a history that needs more is retried once with LIN_BUDGET_RETRY. */
export const LIN_BUDGET = 2_000_000;
export const LIN_BUDGET_RETRY = 20_000_000;

export interface SimOptions {
  seed: number;
  members: number;
  spares: number;
  safetyTicks: number;
  livenessTicks: number;
  clients: number;
  keys: number;
  dropProbability: number;
  duplicateProbability: number;
  delayMax: number;
  diskDelayMax: number;
  partitionRate: number;
  crashRate: number;
  confChangeRate: number;
  jointProbability: number;
  transferRate: number;
  compactRate: number;
  maxInflightMsgs: number;
  maxSizePerMsg: number;
  maxUncommittedEntriesSize: number;
  preVote: boolean;
  opTimeoutTicks: number;
  /** Longest a partition lasts before healing, in ticks. */
  healTicksMax: number;
  /**
   * Probability of cutting a leader off right after it persisted new entries, before
   * they reach anyone: leaves persisted, unreplicated tails (the ground for Figure 8).
   */
  isolateAfterAppendRate: number;
  /**
   * Probability of cutting a leader off right after its commit index advanced, before the
   * messages that carry the new commit index leave: the commit is then known to the leader
   * alone, and the next leader must be one that has the entry (Figure 8's last step).
   */
  isolateAfterCommitRate: number;
  /**
   * Probability that a leader crashes right after it persisted new entries, before sending
   * them (a power cut just after the fsync): its uncommitted tail survives on its disk alone
   * while the others elect a leader without it (Figure 8's first steps).
   */
  crashAfterAppendRate: number;
  /**
   * Leaders send their MsgApps before their own append is durable and count themselves toward
   * the quorum only on a later report (Config.asyncLeaderAppend, RawNode.leaderAppended), as
   * RaftNode does: a leader's Ready sends first, then persists; its report arrives after a disk delay.
   */
  asyncLeaderAppend: boolean;
  /**
   * With asyncLeaderAppend: probability that a leader crashes after its MsgApps left, before its
   * own append is durable (followers may then hold entries the leader lost).
   */
  crashBeforeAppendRate: number;
  /** Canary: serve reads from the local state machine without ReadIndex (must be caught). */
  canaryStaleReads?: boolean;
  /** A deliberate bug switched on in every node's raft core (src/raft/mutations.ts; must be caught). */
  mutation?: MutationName;
  trace: boolean;
}

/** Swarm testing: each seed picks its own fault mix (TigerBeetle options_swarm). */
export function swarmOptions(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = new SeededRng(seed ^ 0x5eed);
  const members = r.chance(0.5) ? 3 : 5;
  // A quarter of the runs are election storms: leaders are cut off or crash every few
  // ticks while clients keep writing, so leaders often leave uncommitted tails behind
  // (the ground for Figure 8 of the Raft paper).
  const storm = r.chance(0.25);
  const base: SimOptions = {
    seed,
    members,
    spares: 2,
    safetyTicks: r.range(200, 450),
    livenessTicks: 300,
    clients: r.range(2, 6),
    keys: r.range(1, 3),
    dropProbability: r.pick([0, 0.01, 0.05, 0.1, 0.2]),
    duplicateProbability: r.pick([0, 0.01, 0.05, 0.1]),
    delayMax: r.pick([2, 5, 15, 40]),
    diskDelayMax: r.pick([0, 2, 8]),
    partitionRate: r.pick([0, 0.01, 0.03, 0.08]),
    crashRate: r.pick([0, 0.005, 0.02, 0.05]),
    confChangeRate: r.pick([0, 0.01, 0.03]),
    jointProbability: r.pick([0, 0.3, 0.6]),
    transferRate: r.pick([0, 0.01, 0.03]),
    compactRate: r.pick([0, 0.02, 0.1]),
    maxInflightMsgs: r.pick([1, 4, 256]),
    maxSizePerMsg: r.pick([1, 300, 1 << 20]),
    maxUncommittedEntriesSize: r.pick([0, 0, 2000]),
    preVote: r.chance(0.85),
    opTimeoutTicks: r.pick([20, 60]),
    healTicksMax: 80,
    isolateAfterAppendRate: 0,
    isolateAfterCommitRate: 0,
    crashAfterAppendRate: 0,
    asyncLeaderAppend: false,
    crashBeforeAppendRate: 0,
    trace: false,
  };
  if (storm) {
    base.partitionRate = r.pick([0.05, 0.1, 0.2]);
    base.crashRate = r.pick([0.02, 0.05, 0.1]);
    base.healTicksMax = r.pick([10, 25]);
    base.maxSizePerMsg = r.pick([1, 300]);
    base.clients = r.range(3, 6);
    base.isolateAfterAppendRate = r.pick([0, 0.05, 0.2]);
  }
  // Added later, from their own stream so that every earlier choice (and so every seed
  // recorded before) stays as it was: a "Figure 8" profile in half of the storms (3 members), where
  // leaders are cut off right after they persist entries or advance their commit index,
  // messages carry one entry, and crashed members come back soon enough to win elections.
  const r2 = new SeededRng(seed ^ 0xf1638);
  if (storm && r2.chance(0.5)) {
    base.members = 3;
    base.isolateAfterCommitRate = r2.pick([0.3, 0.6]);
    base.isolateAfterAppendRate = r2.pick([0.2, 0.4]);
    base.crashRate = r2.pick([0, 0.02]);
    base.crashAfterAppendRate = r2.pick([0.1, 0.3]);
    base.maxSizePerMsg = 1;
    base.maxInflightMsgs = r2.pick([1, 4]);
    base.healTicksMax = r2.pick([25, 40]);
  }
  // The leader-side asynchronous append, from a stream of its own (added later): half of the seeds.
  const r3 = new SeededRng(seed ^ 0xa5c1a);
  if (r3.chance(0.5)) {
    base.asyncLeaderAppend = true;
    base.crashBeforeAppendRate = r3.pick([0, 0.05, 0.2]);
  }
  return { ...base, ...overrides };
}

type Ev =
  | { k: 'tick'; id: NodeId }
  | { k: 'deliver'; to: NodeId; from: NodeId; bytes: Uint8Array }
  | { k: 'ready'; id: NodeId; epoch: number }
  | { k: 'appended'; id: NodeId; epoch: number; index: Index; term: number }
  | { k: 'client'; c: number }
  | { k: 'timeout'; c: number; op: number }
  | { k: 'chaos' }
  | { k: 'restart'; id: NodeId }
  | { k: 'heal' }
  | { k: 'serve'; id: NodeId }
  | { k: 'report'; id: NodeId; to: NodeId; what: 'snap-ok' | 'snap-fail' | 'unreachable' };

class SimNode {
  raw: RawNode | null = null;
  kv = new KvStateMachine();
  confState: ConfState;
  epoch = 0;
  readyScheduled = false;
  /** Knows it was removed from the config (still runs; clients avoid it). */
  removed = false;
  /** Highest commit index this node persisted (its durable commit claim). */
  commit: Index = 0;
  leaderTermChecked = -1;
  pendingWrites = new Map<string, { c: number; op: number }>();
  pendingReads = new Map<string, { c: number; op: number; key: string; index: Index | null }>();

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
  ) {
    this.confState = storage.snapshot().metadata.confState;
  }

  member(): boolean {
    const cs = this.confState;
    return cs.voters.includes(this.id) || cs.learners.includes(this.id) || cs.votersOutgoing.includes(this.id);
  }
}

interface ClientOp {
  op: number;
  kind: 'put' | 'get';
  key: string;
  value: string;
  call: number;
}

interface Client {
  id: number;
  /** The node this client talks to until it times out or is refused (a cached leader). */
  sticky: NodeId | null;
  nextOp: number;
  current: ClientOp | null;
}

export class SimulationFailure extends Error {
  constructor(
    message: string,
    readonly seed: number,
    readonly trace: string[],
  ) {
    super(message);
    this.name = 'SimulationFailure';
  }
}

export interface SimResult {
  seed: number;
  ok: boolean;
  error?: string;
  trace?: string[];
  stats: { ticks: number; events: number; ops: number; committed: Index; elections: number; snapshotsSent: number; confChanges: number; linRetried: boolean };
}

const TRACE_KEEP = 4000;

export class Simulator {
  readonly opts: SimOptions;
  private rng: SeededRng;
  private netRng: SeededRng;
  private chaosRng: SeededRng;
  private clientRng: SeededRng;
  /** Draws of the asynchronous leader append (its own stream: the others stay as they were). */
  private asyncRng: SeededRng;
  private q = new EventQueue<Ev>();
  private now = 0;
  private stamp = 0;
  private nodes = new Map<NodeId, SimNode>();
  private net: Network;
  private inv = new RaftInvariants();
  private clients: Client[] = [];
  private history: KvOp[] = [];
  private trace: string[] = [];
  private everMember = new Set<NodeId>();
  private liveness = false;
  private events = 0;
  private stats = { elections: 0, snapshotsSent: 0, confChanges: 0 };
  /** The linearizability check needed its larger budget (reported in stats). */
  private linRetried = false;

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.rng = new SeededRng(opts.seed);
    this.netRng = this.rng.fork();
    this.chaosRng = this.rng.fork();
    this.clientRng = this.rng.fork();
    this.asyncRng = new SeededRng(opts.seed ^ 0xa5c1a);
    this.net = new Network({ dropProbability: opts.dropProbability, duplicateProbability: opts.duplicateProbability, delayMin: 1, delayMax: opts.delayMax }, this.netRng);
    const voters: NodeId[] = [];
    for (let i = 1; i <= opts.members; i++) voters.push(BigInt(i));
    const cs: ConfState = { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (let i = 1; i <= opts.members + opts.spares; i++) {
      const id: NodeId = BigInt(i);
      let storage: MemoryStorage;
      if (i <= opts.members) {
        // Bootstrap: every initial member starts from a snapshot at index 1 holding the
        // initial configuration, so members added later catch up through a snapshot.
        storage = new MemoryStorage();
        storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: cs } });
        storage.setHardState({ term: 1, vote: 0n, commit: 1 });
        this.everMember.add(id);
      } else {
        storage = new MemoryStorage();
      }
      const n = new SimNode(id, storage);
      this.nodes.set(id, n);
      this.start(n);
      this.q.push(this.rng.int(TICK), { k: 'tick', id });
    }
    for (let c = 0; c < opts.clients; c++) {
      this.clients.push({ id: c, sticky: null, nextOp: 0, current: null });
      this.q.push(this.clientRng.range(1, 5 * TICK), { k: 'client', c });
    }
    this.q.push(TICK, { k: 'chaos' });
  }

  private log(s: string): void {
    if (!this.opts.trace) return;
    this.trace.push(`${String(this.now).padStart(6)} ${s}`);
    if (this.trace.length > TRACE_KEEP * 2) this.trace = this.trace.slice(-TRACE_KEEP);
  }

  private start(n: SimNode): void {
    const snap = n.storage.snapshot();
    n.kv = KvStateMachine.restore(snap.data, snap.metadata.index);
    n.confState = snap.metadata.confState;
    n.commit = n.storage.initialState().hardState.commit;
    n.raw = new RawNode({
      id: n.id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: n.storage,
      applied: snap.metadata.index,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxUncommittedEntriesSize: this.opts.maxUncommittedEntriesSize,
      checkQuorum: true,
      preVote: this.opts.preVote,
      readOnlyOption: ReadOnlyOption.Safe,
      rng: this.rng.fork(),
      ...(this.opts.asyncLeaderAppend ? { asyncLeaderAppend: true } : {}),
      ...(this.opts.mutation !== undefined ? { mutations: { [this.opts.mutation]: true } } : {}),
    });
    n.leaderTermChecked = -1;
  }

  private crash(n: SimNode): void {
    if (!n.raw) return;
    this.log(`n${n.id}: CRASH (unpersisted state lost)`);
    n.raw = null;
    n.epoch++;
    n.readyScheduled = false;
    n.pendingReads.clear();
    n.pendingWrites.clear();
  }

  // ---- main loop -----------------------------------------------------------

  run(): SimResult {
    const end = (this.opts.safetyTicks + this.opts.livenessTicks) * TICK;
    const safetyEnd = this.opts.safetyTicks * TICK;
    let livenessOkAt = -1;
    try {
      while (this.q.size() > 0) {
        const t = this.q.peekTime();
        if (!this.liveness && t >= safetyEnd) this.enterLiveness();
        if (t > end) break;
        const e = this.q.pop()!;
        this.now = e.time;
        this.events++;
        this.handle(e.ev);
        if (this.liveness && livenessOkAt < 0 && e.ev.k === 'tick' && e.ev.id === 1n && this.checkLiveness()) {
          livenessOkAt = this.now;
          break;
        }
      }
      if (livenessOkAt < 0) {
        throw new InvariantViolation(`liveness: no leader committed a proposal on every member within ${this.opts.livenessTicks} ticks after faults healed\n${this.describeCluster()}`);
      }
      this.finalChecks();
      return this.result(true);
    } catch (e) {
      const msg = e instanceof Error ? (e instanceof InvariantViolation ? e.message : `${e.message}\n${e.stack ?? ''}`) : String(e);
      this.log(`FAILURE: ${msg}`);
      return this.result(false, msg);
    }
  }

  private result(ok: boolean, error?: string): SimResult {
    return {
      seed: this.opts.seed,
      ok,
      ...(error !== undefined ? { error } : {}),
      ...(this.opts.trace ? { trace: this.trace.slice(-TRACE_KEEP) } : {}),
      stats: { ticks: Math.floor(this.now / TICK), events: this.events, ops: this.history.length, committed: this.inv.maxCommitted, ...this.stats, linRetried: this.linRetried },
    };
  }

  private handle(ev: Ev): void {
    switch (ev.k) {
      case 'tick': {
        const n = this.nodes.get(ev.id)!;
        if (n.raw) {
          n.raw.tick();
          this.afterInput(n);
        }
        this.q.push(this.now + TICK, ev);
        return;
      }
      case 'deliver': {
        const n = this.nodes.get(ev.to)!;
        const m = decodeMessage(ev.bytes);
        if (!n.raw || this.net.isBlocked(ev.from, ev.to)) {
          this.log(`n${ev.to}: drop ${fmtMsg(m)} (${n.raw ? 'partitioned' : 'down'})`);
          if (m.type === MessageType.MsgSnap) this.q.push(this.now + 1, { k: 'report', id: ev.from, to: ev.to, what: 'snap-fail' });
          return;
        }
        this.log(`n${ev.to}: recv ${fmtMsg(m)}`);
        n.raw.step(m);
        if (m.type === MessageType.MsgSnap) this.q.push(this.now + 1, { k: 'report', id: ev.from, to: ev.to, what: 'snap-ok' });
        this.afterInput(n);
        return;
      }
      case 'ready': {
        const n = this.nodes.get(ev.id)!;
        if (n.epoch !== ev.epoch || !n.raw) return;
        n.readyScheduled = false;
        this.processReady(n);
        return;
      }
      case 'appended': {
        const n = this.nodes.get(ev.id)!;
        if (n.epoch !== ev.epoch || !n.raw) return;
        const taken = n.raw.leaderAppended(ev.index, ev.term);
        this.log(`n${ev.id}: own append through ${ev.index} (term ${ev.term}) durable${taken ? '' : ': ignored (no longer leader of that term)'}`);
        this.afterInput(n);
        return;
      }
      case 'report': {
        const n = this.nodes.get(ev.id)!;
        if (!n.raw) return;
        if (ev.what === 'unreachable') n.raw.reportUnreachable(ev.to);
        else n.raw.reportSnapshot(ev.to, ev.what === 'snap-ok');
        this.afterInput(n);
        return;
      }
      case 'client':
        this.clientIssue(this.clients[ev.c]!);
        return;
      case 'timeout':
        this.clientTimeout(this.clients[ev.c]!, ev.op);
        return;
      case 'chaos':
        if (!this.liveness) {
          this.chaos();
          this.q.push(this.now + TICK, ev);
        }
        return;
      case 'restart': {
        const n = this.nodes.get(ev.id)!;
        if (n.raw) return;
        this.start(n);
        this.log(`n${n.id}: RESTART term=${n.raw!.raft.term} commit=${n.commit} last=${n.storage.lastIndex()} snap=${n.storage.snapshot().metadata.index}`);
        this.afterInput(n);
        return;
      }
      case 'serve': {
        const n = this.nodes.get(ev.id)!;
        if (n.raw) this.serveReads(n);
        return;
      }
      case 'heal':
        this.net.heal();
        this.log('network: HEAL');
        return;
    }
  }

  /** Invariants after every input, and schedule Ready handling after a disk delay. */
  private afterInput(n: SimNode): void {
    const raw = n.raw;
    if (!raw) return;
    const r = raw.raft;
    if (r.state === StateType.Leader) {
      this.inv.onLeader(n.id, r.term);
      if (n.leaderTermChecked !== r.term) {
        n.leaderTermChecked = r.term;
        this.stats.elections++;
        this.log(`n${n.id}: became LEADER term=${r.term} last=${r.raftLog.lastIndex()} commit=${r.raftLog.committed}`);
        this.inv.onBecomeLeader(n.id, r);
      }
    }
    if (!n.readyScheduled && raw.hasReady()) {
      n.readyScheduled = true;
      const d = this.opts.diskDelayMax === 0 ? 0 : this.rng.int(this.opts.diskDelayMax + 1);
      this.q.push(this.now + d, { k: 'ready', id: n.id, epoch: n.epoch });
    }
  }

  private processReady(n: SimNode): void {
    const raw = n.raw!;
    const rd: Ready = raw.ready();
    const id = n.id;
    // asyncLeaderAppend: a leader's Ready (same term and vote as persisted) sends first, as
    // RaftNode does, and reports its own append later.
    const asLeader = this.opts.asyncLeaderAppend && raw.raft.state === StateType.Leader;
    const ackTerm = raw.raft.term;
    const persisted = n.storage.initialState().hardState;
    const early = asLeader && (rd.hardState === null || (rd.hardState.term === persisted.term && rd.hardState.vote === persisted.vote));
    if (early) {
      for (const m of rd.messages) this.send(m);
      if (!this.liveness && rd.entries.length > 0 && this.opts.crashBeforeAppendRate > 0 && this.asyncRng.chance(this.opts.crashBeforeAppendRate)) {
        this.log(`n${id}: leader crashes after sending entries ${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}, before its own append is durable`);
        this.crash(n);
        this.q.push(this.now + this.asyncRng.range(3, 60) * TICK, { k: 'restart', id });
        return;
      }
    }
    // 1. Persist: snapshot, entries, hard state (atomically, as one WAL fsync).
    if (rd.snapshot) {
      const s = rd.snapshot;
      this.log(`n${id}: install snapshot index=${s.metadata.index} term=${s.metadata.term}`);
      this.inv.onSnapshot(id, s);
      n.storage.applySnapshot(s);
      n.kv = KvStateMachine.restore(s.data, s.metadata.index);
      n.confState = s.metadata.confState;
      this.noteConfState(n);
    }
    if (rd.entries.length > 0) {
      this.inv.onPersist(id, rd.entries, n.commit);
      n.storage.append(rd.entries);
      if (!this.liveness && raw.raft.state === StateType.Leader && this.opts.isolateAfterAppendRate > 0 && this.chaosRng.chance(this.opts.isolateAfterAppendRate)) {
        const ids = [...this.nodes.keys()];
        this.net.partition([id], ids.filter((y) => y !== id));
        this.log(`network: ISOLATE leader n${id} right after it persisted entries ${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}`);
        this.q.push(this.now + this.chaosRng.range(3, 25) * TICK, { k: 'heal' });
      }
    }
    if (rd.hardState) {
      const hs = rd.hardState;
      if (hs.commit < n.commit) throw new InvariantViolation(`node ${id} commit went backwards ${n.commit} -> ${hs.commit}`);
      if (hs.commit > n.commit) {
        const log = raw.raft.raftLog;
        const lo = Math.max(n.commit + 1, log.firstIndex());
        if (lo <= hs.commit) for (const e of log.slice(lo, hs.commit + 1, Number.MAX_SAFE_INTEGER)) this.inv.onCommitted(id, e);
        if (!this.liveness && raw.raft.state === StateType.Leader && this.opts.isolateAfterCommitRate > 0 && this.chaosRng.chance(this.opts.isolateAfterCommitRate)) {
          const ids = [...this.nodes.keys()];
          this.net.partition([id], ids.filter((y) => y !== id));
          this.log(`network: ISOLATE leader n${id} right after it committed ${n.commit + 1}..${hs.commit}`);
          this.q.push(this.now + this.chaosRng.range(3, 25) * TICK, { k: 'heal' });
        }
      }
      n.storage.setHardState(hs);
      n.commit = hs.commit;
    }
    if (!this.liveness && rd.entries.length > 0 && raw.raft.state === StateType.Leader && this.opts.crashAfterAppendRate > 0 && this.chaosRng.chance(this.opts.crashAfterAppendRate)) {
      this.log(`n${id}: leader crashes right after persisting entries ${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}, ${early ? 'after' : 'before'} sending them`);
      this.crash(n);
      this.q.push(this.now + this.chaosRng.range(3, 60) * TICK, { k: 'restart', id });
      return;
    }
    // 2. Send (only now: the messages depend on what was just persisted), unless sent early.
    if (!early) for (const m of rd.messages) this.send(m);
    // 3. Apply committed entries (never one that is not durable here: asyncLeaderAppend).
    const durableLast = n.storage.lastIndex();
    for (const e of rd.committedEntries) {
      if (e.index > durableLast) throw new InvariantViolation(`node ${id} applies entry ${e.index} beyond its durable last index ${durableLast}`);
      this.apply(n, e);
    }
    if (n.raw && rd.readStates.length > 0) {
      for (const rs of rd.readStates) {
        const key = new TextDecoder().decode(rs.requestCtx);
        const pr = n.pendingReads.get(key);
        if (pr && pr.index === null) pr.index = rs.index;
      }
    }
    this.serveReads(n);
    // Compaction: snapshot the state machine and drop a prefix of the log.
    if (this.opts.compactRate > 0 && this.rng.chance(this.opts.compactRate) && n.kv.appliedIndex > n.storage.snapshot().metadata.index) {
      this.compact(n);
    }
    raw.advance();
    if (asLeader && rd.entries.length > 0) {
      const d = this.opts.diskDelayMax === 0 ? 0 : this.asyncRng.int(this.opts.diskDelayMax + 1);
      this.q.push(this.now + d, { k: 'appended', id, epoch: n.epoch, index: rd.entries[rd.entries.length - 1]!.index, term: ackTerm });
    }
    // A removed node keeps running (it cannot campaign, but may still be needed to
    // vote: the others may not know yet that its removal committed).
    this.afterInput(n);
  }

  private compact(n: SimNode): void {
    const applied = n.kv.appliedIndex;
    n.storage.createSnapshot(applied, n.confState, n.kv.snapshot());
    const to = applied - this.rng.int(6);
    if (to > n.storage.firstIndex() - 1 && to <= n.storage.lastIndex()) {
      n.storage.compact(to);
      this.log(`n${n.id}: snapshot at ${applied}, compacted to ${to}`);
    }
  }

  private apply(n: SimNode, e: Entry): void {
    this.inv.onApply(n.id, e, n.kv.appliedIndex + 1);
    n.kv.appliedIndex = e.index;
    if (e.type === EntryType.Normal) {
      if (e.data.length === 0) return;
      const cmd = decodeCommand(e.data);
      n.kv.apply(cmd);
      const k = opKey(cmd.c, cmd.o);
      const w = n.pendingWrites.get(k);
      if (w) {
        n.pendingWrites.delete(k);
        this.clientComplete(w.c, w.op, null);
      }
      return;
    }
    const cc = decodeConfChangeV2(e.data);
    const cs = n.raw!.applyConfChange(cc);
    n.confState = cs;
    this.stats.confChanges++;
    this.log(`n${n.id}: applied conf change at ${e.index}: ${fmtConfState(cs)}`);
    // A snapshot right after each conf change lets a newly added member catch up.
    if (e.index > n.storage.snapshot().metadata.index) n.storage.createSnapshot(e.index, cs, n.kv.snapshot());
    this.noteConfState(n);
  }

  private noteConfState(n: SimNode): void {
    const cs = n.confState;
    for (const id of [...cs.voters, ...cs.learners, ...cs.votersOutgoing]) this.everMember.add(id);
    if (this.everMember.has(n.id) && !n.member() && cs.voters.length > 0) n.removed = true;
  }

  private serveReads(n: SimNode): void {
    if (n.pendingReads.size === 0) return;
    for (const [k, pr] of n.pendingReads) {
      if (pr.index !== null && n.kv.appliedIndex >= pr.index) {
        n.pendingReads.delete(k);
        this.clientComplete(pr.c, pr.op, n.kv.data.get(pr.key) ?? null);
      }
    }
  }

  private send(m: Message): void {
    const bytes = encodeMessage(m);
    const delays = this.net.plan(m.from, m.to);
    if (delays.length === 0) {
      this.log(`n${m.from}: lost ${fmtMsg(m)}`);
      if (m.type === MessageType.MsgSnap) this.q.push(this.now + 1, { k: 'report', id: m.from, to: m.to, what: 'snap-fail' });
      else if (m.type === MessageType.MsgApp && this.net.isBlocked(m.from, m.to) && this.netRng.chance(0.3)) {
        this.q.push(this.now + 1, { k: 'report', id: m.from, to: m.to, what: 'unreachable' });
      }
      return;
    }
    if (m.type === MessageType.MsgSnap) this.stats.snapshotsSent++;
    for (const d of delays) this.q.push(this.now + d, { k: 'deliver', to: m.to, from: m.from, bytes });
  }

  // ---- clients -------------------------------------------------------------

  private liveNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raw && !n.removed && this.everMember.has(n.id)) out.push(n);
    return out;
  }

  private leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes.values()) {
      if (n.raw && n.raw.raft.state === StateType.Leader && (!best || n.raw.raft.term > best.raw!.raft.term)) best = n;
    }
    return best;
  }

  private clientIssue(c: Client): void {
    if (c.current || this.liveness) return;
    const live = this.liveNodes();
    if (live.length === 0) {
      this.q.push(this.now + TICK, { k: 'client', c: c.id });
      return;
    }
    const r = this.clientRng;
    const lead = this.leader();
    const stickyNode = c.sticky !== null ? live.find((x) => x.id === c.sticky) : undefined;
    const n = stickyNode && r.chance(0.8) ? stickyNode : lead && r.chance(0.6) ? lead : r.pick(live);
    c.sticky = n.id;
    const opId = c.nextOp++;
    const key = `k${r.int(this.opts.keys)}`;
    const kind = r.chance(0.55) ? 'put' : 'get';
    const value = `${c.id}.${opId}`;
    const call = this.stamp++;
    const k = opKey(c.id, opId);
    let ok: boolean;
    if (kind === 'put') {
      ok = n.raw!.propose(encodeCommand({ c: c.id, o: opId, k: key, v: value }));
      if (ok) n.pendingWrites.set(k, { c: c.id, op: opId });
    } else if (this.opts.canaryStaleReads) {
      ok = true;
      n.pendingReads.set(k, { c: c.id, op: opId, key, index: 0 });
      this.q.push(this.now + 1, { k: 'serve', id: n.id });
    } else {
      ok = n.raw!.readIndex(new TextEncoder().encode(k));
      if (ok) n.pendingReads.set(k, { c: c.id, op: opId, key, index: null });
    }
    this.log(`client${c.id}: ${kind} ${key}${kind === 'put' ? `=${value}` : ''} via n${n.id}${ok ? '' : ' DROPPED'}`);
    if (ok) {
      c.current = { op: opId, kind, key, value, call };
      this.q.push(this.now + this.opts.opTimeoutTicks * TICK, { k: 'timeout', c: c.id, op: opId });
    } else {
      c.sticky = null;
      this.q.push(this.now + r.range(1, 2 * TICK), { k: 'client', c: c.id });
    }
    this.afterInput(n);
  }

  private clientComplete(cid: number, op: number, output: string | null): void {
    const c = this.clients[cid];
    if (!c || !c.current || c.current.op !== op) return;
    const cur = c.current;
    const ret = this.stamp++;
    this.history.push(
      cur.kind === 'put'
        ? { client: cid, input: { kind: 'put', key: cur.key, value: cur.value }, output: null, call: cur.call, ret }
        : { client: cid, input: { kind: 'get', key: cur.key }, output, call: cur.call, ret },
    );
    this.log(`client${cid}: ${cur.kind} ${cur.key} done${cur.kind === 'get' ? ` -> ${output ?? '<none>'}` : ''}`);
    c.current = null;
    this.q.push(this.now + this.clientRng.range(1, 2 * TICK), { k: 'client', c: cid });
  }

  private clientTimeout(c: Client, op: number): void {
    if (!c.current || c.current.op !== op) return;
    const cur = c.current;
    // A timed-out write may still take effect: its outcome is unknown (ret = Infinity).
    if (cur.kind === 'put') this.history.push({ client: c.id, input: { kind: 'put', key: cur.key, value: cur.value }, output: null, call: cur.call, ret: Infinity });
    this.log(`client${c.id}: ${cur.kind} ${cur.key} TIMEOUT`);
    c.current = null;
    c.sticky = null;
    this.q.push(this.now + this.clientRng.range(1, 2 * TICK), { k: 'client', c: c.id });
  }

  // ---- faults --------------------------------------------------------------

  private chaos(): void {
    const r = this.chaosRng;
    const o = this.opts;
    const live = this.liveNodes();
    if (o.partitionRate > 0 && r.chance(o.partitionRate)) {
      const ids = [...this.nodes.keys()];
      const kind = r.int(4);
      const lead = this.leader();
      if (kind === 3 && lead) {
        // The most interesting fault: cut the leader off while clients still talk to it.
        this.net.partition([lead.id], ids.filter((y) => y !== lead.id));
        this.log(`network: ISOLATE leader n${lead.id}`);
      } else if (kind === 0) {
        const a = ids.filter(() => r.chance(0.5));
        const b = ids.filter((x) => !a.includes(x));
        this.net.partition(a, b);
        this.log(`network: PARTITION ${a.join(',')} | ${b.join(',')}`);
      } else if (kind === 1) {
        const x = r.pick(ids);
        this.net.partition([x], ids.filter((y) => y !== x));
        this.log(`network: ISOLATE n${x}`);
      } else {
        const x = r.pick(ids);
        const y = r.pick(ids);
        if (x !== y) {
          this.net.block(x, y);
          this.log(`network: ONE-WAY block n${x} -> n${y}`);
        }
      }
      this.q.push(this.now + r.range(3, this.opts.healTicksMax) * TICK, { k: 'heal' });
    }
    if (o.crashRate > 0 && live.length > 0 && r.chance(o.crashRate)) {
      // Half of the crashes hit the leader: that is where elections race.
      const l = this.leader();
      const n = l && r.chance(0.5) ? l : r.pick(live);
      this.crash(n);
      this.q.push(this.now + r.range(3, 60) * TICK, { k: 'restart', id: n.id });
    }
    const lead = this.leader();
    if (lead && o.confChangeRate > 0 && r.chance(o.confChangeRate)) this.proposeConfChange(lead);
    if (lead && o.transferRate > 0 && r.chance(o.transferRate)) {
      const voters = lead.confState.voters.filter((x) => x !== lead.id);
      if (voters.length > 0) {
        const to = r.pick(voters);
        this.log(`n${lead.id}: TRANSFER leadership to n${to}`);
        lead.raw!.transferLeadership(to);
        this.afterInput(lead);
      }
    }
  }

  private proposeConfChange(lead: SimNode): void {
    const r = this.chaosRng;
    const cs = lead.confState;
    if (cs.votersOutgoing.length > 0) {
      if (!cs.autoLeave) this.proposeCC(lead, ConfChangeTransition.Auto, []);
      return;
    }
    const minVoters = this.opts.members >= 5 ? 3 : 2;
    const spares = [...this.nodes.keys()].filter((id) => !this.everMember.has(id));
    const learners = cs.learners;
    const voters = cs.voters;
    const options: (() => void)[] = [];
    if (spares.length > 0) {
      const s = r.pick(spares);
      options.push(() => this.proposeCC(lead, ConfChangeTransition.Auto, [{ type: ConfChangeType.AddLearnerNode, nodeId: s }]));
    }
    if (learners.length > 0) {
      const l = r.pick(learners);
      options.push(() => this.proposeCC(lead, ConfChangeTransition.Auto, [{ type: ConfChangeType.AddNode, nodeId: l }]));
      options.push(() => this.proposeCC(lead, ConfChangeTransition.Auto, [{ type: ConfChangeType.RemoveNode, nodeId: l }]));
      if (voters.length >= minVoters && r.chance(this.opts.jointProbability)) {
        // Joint: swap a voter for a learner in one step.
        const v = r.pick(voters);
        const tr = r.pick([ConfChangeTransition.Auto, ConfChangeTransition.JointImplicit, ConfChangeTransition.JointExplicit]);
        const demote = r.chance(0.5);
        options.push(() =>
          this.proposeCC(lead, tr, [
            { type: ConfChangeType.AddNode, nodeId: l },
            { type: demote ? ConfChangeType.AddLearnerNode : ConfChangeType.RemoveNode, nodeId: v },
          ]),
        );
      }
    }
    if (voters.length > minVoters) {
      const v = r.pick(voters);
      options.push(() => this.proposeCC(lead, ConfChangeTransition.Auto, [{ type: ConfChangeType.RemoveNode, nodeId: v }]));
    }
    if (options.length > 0) r.pick(options)();
  }

  private proposeCC(lead: SimNode, transition: ConfChangeTransition, changes: ConfChangeSingle[]): void {
    const ok = lead.raw!.proposeConfChange({ transition, changes, context: new Uint8Array(0) });
    this.log(`n${lead.id}: propose conf change ${fmtChanges(transition, changes)}${ok ? '' : ' DROPPED'}`);
    this.afterInput(lead);
  }

  // ---- liveness ------------------------------------------------------------

  private probeSeq = 0;
  private probe: { key: string; leader: NodeId; term: number } | null = null;

  private enterLiveness(): void {
    this.liveness = true;
    this.log('=== LIVENESS PHASE: faults healed ===');
    this.net.heal();
    this.net.options = { dropProbability: 0, duplicateProbability: 0, delayMin: 1, delayMax: Math.min(5, this.opts.delayMax) };
    for (const n of this.nodes.values()) {
      if (!n.raw) this.q.push(this.now, { k: 'restart', id: n.id });
    }
  }

  /** True once a leader committed a fresh proposal that every member applied, and members converged. */
  private checkLiveness(): boolean {
    const lead = this.leader();
    if (!lead) return false;
    const raft = lead.raw!.raft;
    const cs = lead.confState;
    if (cs.votersOutgoing.length > 0 && !cs.autoLeave) {
      this.proposeCC(lead, ConfChangeTransition.Auto, []);
      return false;
    }
    if (!this.probe || this.probe.leader !== lead.id || this.probe.term !== raft.term) {
      const o = this.probeSeq++;
      this.probe = { key: opKey(-1, o), leader: lead.id, term: raft.term };
      if (!lead.raw!.propose(encodeCommand({ c: -1, o, k: '__probe', v: String(o) }))) this.probe = null;
      this.afterInput(lead);
      return false;
    }
    if (cs.votersOutgoing.length > 0) return false;
    const members = [...cs.voters, ...cs.learners].map((id) => this.nodes.get(id)!);
    for (const m of members) {
      if (!m.raw || !m.kv.applied.has(this.probe.key)) return false;
      if (m.kv.appliedIndex !== raft.raftLog.committed) return false;
    }
    const fp = lead.kv.fingerprint();
    for (const m of members) {
      if (m.kv.fingerprint() !== fp) throw new InvariantViolation(`state machines diverged: n${lead.id} and n${m.id} at applied index ${m.kv.appliedIndex}`);
    }
    this.log(`liveness: leader n${lead.id} term ${raft.term}, all ${members.length} members applied ${raft.raftLog.committed}`);
    return true;
  }

  private finalChecks(): void {
    // Writes still outstanding at the end have an unknown outcome.
    for (const c of this.clients) {
      const cur = c.current;
      if (cur && cur.kind === 'put') this.history.push({ client: c.id, input: { kind: 'put', key: cur.key, value: cur.value }, output: null, call: cur.call, ret: Infinity });
    }
    // A search that runs out of budget proves nothing: retry once with a larger budget, and
    // fail if that is not enough either (an inconclusive check is never a pass).
    let lin = checkHistory(this.history, LIN_BUDGET);
    if (lin.budgetExceeded) {
      this.log(`linearizability: search budget ${LIN_BUDGET} exhausted on key ${lin.key}; retrying with ${LIN_BUDGET_RETRY}`);
      lin = checkHistory(this.history, LIN_BUDGET_RETRY);
      this.linRetried = true;
    }
    if (lin.budgetExceeded) {
      throw new InvariantViolation(`linearizability: inconclusive, the search ran out of its budget of ${LIN_BUDGET_RETRY} steps on key ${lin.key} (${this.history.length} ops); an unchecked history is a failure`);
    }
    if (!lin.ok) throw new InvariantViolation(`linearizability: history of key ${lin.key} is not linearizable:\n${lin.explain}`);
    const logs = new Map<NodeId, Entry[]>();
    for (const n of this.nodes.values()) {
      const s = n.storage;
      logs.set(n.id, s.lastIndex() >= s.firstIndex() ? s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER) : []);
    }
    RaftInvariants.checkLogMatching(logs);
  }

  describeCluster(): string {
    const lines: string[] = [`network: ${this.net.describe()}`];
    for (const n of this.nodes.values()) {
      if (!n.raw) {
        lines.push(`  n${n.id}: ${n.removed ? 'removed' : 'down'}`);
        continue;
      }
      const r = n.raw.raft;
      let s = `  n${n.id}: ${StateType[r.state]} term=${r.term} vote=${r.vote} lead=${r.lead} commit=${r.raftLog.committed} applied=${n.kv.appliedIndex} last=${r.raftLog.lastIndex()} first=${r.raftLog.firstIndex()} conf=${fmtConfState(n.confState)}`;
      if (r.state === StateType.Leader) {
        r.trk.visit((id, pr) => {
          s += `\n      ${id}: ${pr.toString()}`;
        });
      }
      lines.push(s);
    }
    return lines.join('\n');
  }
}

export function fmtMsg(m: Message): string {
  let s = `${MessageType[m.type]} ${m.from}->${m.to} term=${m.term}`;
  if (m.type === MessageType.MsgApp || m.type === MessageType.MsgAppResp || m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
    s += ` logTerm=${m.logTerm} index=${m.index}`;
  }
  if (m.entries.length) s += ` ents=[${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]`;
  if (m.commit) s += ` commit=${m.commit}`;
  if (m.reject) s += ` REJECT hint=${m.rejectHint}`;
  if (m.snapshot) s += ` snap=${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`;
  return s;
}

export function fmtConfState(cs: ConfState): string {
  let s = `voters=(${cs.voters.join(' ')})`;
  if (cs.votersOutgoing.length) s += `&&(${cs.votersOutgoing.join(' ')})`;
  if (cs.learners.length) s += ` learners=(${cs.learners.join(' ')})`;
  if (cs.learnersNext.length) s += ` next=(${cs.learnersNext.join(' ')})`;
  if (cs.autoLeave) s += ' autoleave';
  return s;
}

function fmtChanges(t: ConfChangeTransition, ccs: ConfChangeSingle[]): string {
  if (ccs.length === 0) return 'LEAVE-JOINT';
  return `${ConfChangeTransition[t]}: ${ccs.map((c) => `${ConfChangeType[c.type]}(${c.nodeId})`).join(' ')}`;
}

export function runSeed(seed: number, overrides: Partial<SimOptions> = {}): SimResult {
  return new Simulator(swarmOptions(seed, overrides)).run();
}
