/**
 * The consensus node of a cluster member (ConsensusNode, src/server/consensus.ts): src/raft's
 * RawNode driven by a ticker, the WAL writer and a PeerTransport (docs/cluster.md).
 *
 * The Ready loop (`#pump`), one Ready in flight at a time:
 *   1. step what arrived since the last turn: proposals first (as one batch: one MsgApp per
 *      follower), then peer messages, ticks, a new read-index round;
 *   2. ready(): leadership changes go to the listeners at once;
 *   3. entries and hard state go to the WAL writer as ONE append; a leader's Ready (same term
 *      and vote as already written) sends its messages now, in parallel with its own append
 *      (asyncLeaderAppend); wait until durable, then into the in-memory Raft storage;
 *   4. every other Ready's messages leave only now (votes and acks promise what step 3 made
 *      durable);
 *   5. committed entries go to the onCommitted listeners, in order (never past what is durable
 *      here); read states answer reads;
 *   6. advance(); a leader's appended entries are reported durable (leaderAppended: only now
 *      does the leader count itself toward their quorum); again if anything is waiting.
 * Nothing is stepped into the RawNode between ready() and advance() (docs/raft.md); inputs
 * arriving meanwhile wait in queues and are stepped together in the next turn, which is what
 * batches the WAL appends and the MsgApps under load.
 *
 * Proposal indexes: `propose` answers the index at once. Nothing is stepped between turns, and
 * a turn steps this member's queued proposals before anything else (forwarded MsgProps from
 * followers, which also grow the leader's log, come after them and are told to the
 * onAppendedByOthers listeners), so the index is the last index plus the queued ones. A proposal
 * can only be lost with a leadership change, which the onLeaderChange listeners hear before any
 * later committed entry.
 *
 * On a follower `propose` hands the data to Raft, which forwards it to the leader (MsgProp) and
 * returns undefined: the proposer waits for the entry's outcome by request ID (EtcdServer).
 */
import { EtcdError } from '../../errors/errors.js';
import {
  MessageType,
  RaftError,
  RawNode,
  ReadOnlyOption,
  SeededRng,
  StateType,
  type ConfChangeV2,
  type ConfState,
  type Message,
  type Ready,
  type Rng,
  type Snapshot,
} from '../../raft/index.js';
import type { Entry, HardState, NodeId } from '../../raftpb/types.js';
import type { ConsensusNode } from '../consensus.js';
import type { LogWriter } from '../ports.js';
import { RaftLogStorage, type RecoveredLog } from './raft-storage.js';

/**
 * Member-to-member messages (etcd's rafthttp Transporter), declared here by its consumer.
 * Implementations: LocalPeerHub (src/server/peer/local-hub.ts, in one process, for tests);
 * Http2PeerTransport (src/server/peer/http2-transport.ts: one long-lived stream per peer) at
 * --listen-peer-urls (docs/cluster.md).
 */
export interface PeerTransport {
  /**
   * Sends messages, best effort: a message may be lost, never altered; messages to one peer
   * arrive in send order. Raft retries what matters (heartbeats, probes, elections).
   */
  send(messages: readonly Message[]): void;
  /** Where inbound messages go (set once, by the node, before it starts). */
  onReceive(handler: (m: Message) => void): void;
  /** Stops sending and receiving. */
  close(): void;
  /**
   * Streams a snapshot to `m.to` on the separate snapshot path (MsgSnap `m`, then the store file
   * at `path`); resolves once the follower has it, rejects otherwise. Absent: no snapshots.
   */
  sendSnapshot?(m: Message, path: string, sizeBytes: number): Promise<void>;
  /** Where snapshot requests go once their headers passed the peer checks (set once). */
  onSnapshot?(handler: (body: SnapshotBody, from: NodeId) => Promise<{ status: number; body: Uint8Array }>): void;
}

/** The body of a snapshot request, as it arrives. */
export type SnapshotBody = AsyncIterable<unknown> & { destroy(err?: Error): void; resume(): unknown };

/**
 * Store snapshots for followers the log cannot catch up (docs/cluster.md, "Snapshots to lagging
 * followers"), declared here by its consumer; src/server/node/raft-snapshots.ts implements it.
 */
export interface SnapshotPort {
  /** Whether snapshots can be sent at all (the transport has the snapshot path). */
  readonly enabled: boolean;
  /** The node that receives verified snapshots (set once, by the node). */
  attach(target: { deliver(m: Message): void; committedIndex(): number }): void;
  /**
   * Leader: streams the snapshot MsgSnap `m` asks for; true once the follower has it, false when
   * it failed, undefined when not made (one is in flight to that follower already: it reports).
   */
  send(m: Message): Promise<boolean | undefined>;
  /**
   * Follower: installs Ready.snapshot (its store file was received): the WAL marker with
   * `hardState`, then the store swap. Rejects: fatal.
   */
  install(s: Snapshot, hardState: HardState | null): Promise<void>;
}

/** After a failed snapshot transfer, its report to Raft waits this long (Raft then sends a new MsgSnap). */
const SNAPSHOT_RETRY_DELAY_MS = 1000;

export interface RaftNodeOptions {
  readonly id: NodeId;
  /**
   * The Raft configuration at start: the stored membership's voters and learners (or the
   * initial cluster's voters for a data dir without one); empty for a member joining a cluster,
   * which learns it from the leader's log.
   */
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly log: LogWriter;
  readonly transport: PeerTransport;
  /** What the WAL and the store hold at start. */
  readonly recovered: RecoveredLog;
  /** Highest index already handed to the applier (replayed at start): Raft hands out entries after it. */
  readonly appliedIndex: number;
  /** --heartbeat-interval: one tick. */
  readonly tickMs: number;
  /** --election-timeout / --heartbeat-interval (etcd: at least 5 heartbeats). */
  readonly electionTicks: number;
  /** Ticks between heartbeats (etcd: 1). */
  readonly heartbeatTicks?: number;
  /**
   * A read-index round not answered after this many ticks is sent again with the same context
   * (etcd's readIndexRetryTime, 500 ms); after `readTimeoutTicks` its reads fail with
   * "request timed out".
   */
  readonly readRetryTicks?: number;
  readonly readTimeoutTicks?: number;
  /** Entries kept in memory below a released index for lagging followers (default CATCH_UP_ENTRIES). */
  readonly catchUpEntries?: number;
  /** Election jitter (seeded in tests; Math.random-seeded otherwise). */
  readonly rng?: Rng;
  /** --pre-vote (default true, as etcd 3.5; etcd 3.4's default is false). */
  readonly preVote?: boolean;
  /** Stage timing: from handing a Ready's entries to the log to their durability, in seconds. */
  readonly onAppended?: (seconds: number, entries: number) => void;
  /**
   * A leader sends its MsgApps in parallel with its own WAL append and counts itself toward the
   * quorum once that append is durable (docs/cluster.md, "What is durable before which
   * message"). Default true; false: every Ready is durable before its messages leave.
   */
  readonly asyncLeaderAppend?: boolean;
  /** Snapshots for lagging followers (absent: the leader keeps probing, docs/cluster.md). */
  readonly snapshots?: SnapshotPort;
}

/** Bytes of entries in one MsgApp (etcd's --max-request-bytes-based default, 1 MiB). */
const MAX_SIZE_PER_MSG = 1024 * 1024;
/**
 * MsgApps in flight per follower in StateReplicate (etcd's maxInflightMsgs, 4096 / 8): bounds
 * what a slow follower costs the leader in memory and on the wire.
 */
const MAX_INFLIGHT_MSGS = 512;

interface ReadRound {
  readonly waiters: { resolve: (index: number) => void; reject: (err: Error) => void }[];
  /** Ticks since the round was (re)sent; ticks since it started. */
  sinceSentTicks: number;
  ageTicks: number;
  sent: boolean;
}

export class RaftNode implements ConsensusNode {
  readonly #id: NodeId;
  readonly #raw: RawNode;
  readonly #storage: RaftLogStorage;
  readonly #snapshots: SnapshotPort | undefined;
  /** Outcomes of snapshot transfers, stepped into Raft (reportSnapshot) in the next turn. */
  #snapshotReports: { to: NodeId; ok: boolean }[] = [];
  readonly #log: LogWriter;
  readonly #transport: PeerTransport;
  readonly #tickMs: number;
  readonly #readRetryTicks: number;
  readonly #readTimeoutTicks: number;
  readonly #onAppended: ((seconds: number, entries: number) => void) | undefined;
  readonly #asyncLeaderAppend: boolean;
  /** Last index durable in the WAL (what committed entries may be delivered up to). */
  #durableLast: number;
  /** Term and vote last handed to the WAL (a leader's Ready that changes neither may send early). */
  #writtenTerm: number;
  #writtenVote: NodeId;
  readonly #committedListeners: ((entries: readonly Entry[]) => void)[] = [];
  readonly #leaderListeners: ((term: number, isLeader: boolean) => void)[] = [];
  readonly #fatalListeners: ((err: Error) => void)[] = [];
  readonly #startedWaiters: (() => void)[] = [];

  readonly #appendedByOthersListeners: ((lastIndex: number) => void)[] = [];

  // Inputs waiting for the next turn of the Ready loop.
  /** Proposals of this leader, in index order: entry data, or a membership change. */
  #proposals: (Uint8Array | ConfChangeV2)[] = [];
  /** Proposals of this member made while a follower: Raft forwards them to the leader (MsgProp). */
  #forwards: (Uint8Array | ConfChangeV2)[] = [];
  /** Applied membership changes for Raft's configuration, in log order (stepped first in a turn). */
  #confChanges: ConfChangeV2[] = [];
  #inbox: Message[] = [];
  #ticks = 0;
  /** Reads waiting for the next read-index round. */
  #nextRound: ReadRound['waiters'] = [];
  /** Rounds sent, by request context. */
  readonly #rounds = new Map<string, ReadRound>();
  #readSeq = 0n;

  #committed: number;
  /** A leadership transfer asked for, stepped in the next turn. */
  #transferTo: NodeId | undefined;
  #lead: NodeId = 0n;
  #leaderChangesSeen = 0;
  #isLeader = false;
  #scheduled = false;
  #inReady = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #closed = false;
  #failed: Error | undefined;
  /** Resolves when the Ready in flight (if any) is done. */
  #readyDone: Promise<void> = Promise.resolve();

  constructor(opts: RaftNodeOptions) {
    this.#id = opts.id;
    this.#log = opts.log;
    this.#transport = opts.transport;
    this.#tickMs = opts.tickMs;
    this.#readRetryTicks = opts.readRetryTicks ?? Math.max(1, Math.round(500 / opts.tickMs));
    this.#readTimeoutTicks = opts.readTimeoutTicks ?? Math.round(5000 / opts.tickMs) + 2 * opts.electionTicks;
    this.#onAppended = opts.onAppended;
    this.#asyncLeaderAppend = opts.asyncLeaderAppend ?? true;
    const confState: ConfState = { voters: [...opts.voters], learners: [...(opts.learners ?? [])], votersOutgoing: [], learnersNext: [], autoLeave: false };
    this.#snapshots = opts.snapshots?.enabled === true ? opts.snapshots : undefined;
    this.#storage = new RaftLogStorage(confState, opts.recovered, opts.catchUpEntries, this.#snapshots !== undefined);
    this.#raw = new RawNode({
      id: opts.id,
      electionTick: opts.electionTicks,
      heartbeatTick: opts.heartbeatTicks ?? 1,
      storage: this.#storage,
      applied: opts.appliedIndex,
      maxSizePerMsg: MAX_SIZE_PER_MSG,
      maxInflightMsgs: MAX_INFLIGHT_MSGS,
      checkQuorum: true,
      preVote: opts.preVote ?? true,
      readOnlyOption: ReadOnlyOption.Safe,
      rng: opts.rng ?? new SeededRng(Math.floor(Math.random() * 0x7fffffff)),
      asyncLeaderAppend: this.#asyncLeaderAppend,
    });
    this.#durableLast = this.#storage.lastIndex();
    this.#writtenTerm = opts.recovered.hardState.term;
    this.#writtenVote = opts.recovered.hardState.vote;
    this.#committed = opts.appliedIndex;
    this.#storage.setAppliedIndexSource(() => this.#raw.raft.raftLog.applied);
    // A MsgSnap counts only with its store file: it comes through the snapshot port, never alone.
    this.#transport.onReceive((m) => (m.type === MessageType.MsgSnap ? undefined : this.#receive(m)));
    this.#snapshots?.attach({ deliver: (m) => this.#receive(m), committedIndex: () => this.#committed });
  }

  get id(): NodeId {
    return this.#id;
  }

  /** Ticks the election clock `ticks` times in the next turn (--initial-election-tick-advance). */
  advanceTicks(ticks: number): void {
    this.#ticks += ticks;
    this.#schedule();
  }

  /** Whether the node stopped (closed or failed). */
  get stopped(): boolean {
    return this.#stopped || this.#closed || this.#failed !== undefined;
  }

  get term(): number {
    return this.#raw.raft.term;
  }

  get committedIndex(): number {
    return this.#committed;
  }

  get lastIndex(): number {
    return this.#raw.raft.raftLog.lastIndex() + this.#proposals.length;
  }

  /** First index still in the in-memory Raft log (older ones were released). */
  get firstLogIndex(): number {
    return this.#storage.firstIndex();
  }

  /** The leader this member knows of (0n: none). */
  get leaderId(): NodeId {
    return this.#lead;
  }

  /** New leaders seen (a change to a leader that is not none), as etcd counts them. */
  get leaderChangesSeen(): number {
    return this.#leaderChangesSeen;
  }

  isLeader(): boolean {
    return this.#isLeader && !this.#stopped && this.#failed === undefined;
  }

  onCommitted(listener: (entries: readonly Entry[]) => void): void {
    this.#committedListeners.push(listener);
  }

  onLeaderChange(listener: (term: number, isLeader: boolean) => void): void {
    this.#leaderListeners.push(listener);
  }

  onFatal(listener: (err: Error) => void): void {
    this.#fatalListeners.push(listener);
  }

  onAppendedByOthers(listener: (lastIndex: number) => void): void {
    this.#appendedByOthersListeners.push(listener);
  }

  /**
   * Starts ticking; resolves once a leader is known (this member or another), with the
   * committed index then. The recovered committed entries were replayed before.
   */
  start(): Promise<number> {
    this.#timer = setInterval(() => {
      this.#ticks++;
      this.#schedule();
    }, this.#tickMs);
    this.#schedule();
    return new Promise<number>((resolve, reject) => {
      const check = (): void => {
        if (this.#failed) reject(this.#failed);
        else if (this.#stopped) reject(new EtcdError('ETCD_ERR_SERVER_STOPPED'));
        else resolve(this.#committed);
      };
      if (this.#lead !== 0n) check();
      else this.#startedWaiters.push(check);
    });
  }

  /**
   * On the leader: the entry's index. On a follower that knows a leader: undefined, and the
   * proposal goes to the leader as a MsgProp in the next turn (best effort: a lost MsgProp is
   * never appended; the proposer's wait times out). Without a known leader: `no leader`.
   */
  propose(data: Uint8Array): number | undefined {
    return this.#enqueue(data);
  }

  /**
   * A membership change (ConfChangeV2 with the change in its context), as `propose`. Raft lets
   * one change be pending at a time: a second one proposed before the first is applied is
   * appended as an empty entry instead (its proposer times out, as in etcd).
   */
  proposeConfChange(cc: ConfChangeV2): number | undefined {
    return this.#enqueue(cc);
  }

  /** A committed membership change was applied: Raft's configuration follows in the next turn. */
  applyConfChange(cc: ConfChangeV2): void {
    if (this.#stopped || this.#failed) return;
    this.#confChanges.push(cc);
    this.#schedule();
  }

  /** The leader's view of each member's log (undefined when not the leader). */
  progress(): ReadonlyMap<NodeId, { match: number; isLearner: boolean }> | undefined {
    return this.#raw.status().progress ?? undefined;
  }

  /** Asks Raft to hand leadership to `transferee` (a voter); it takes effect with its election. */
  transferLeadership(transferee: NodeId): void {
    if (this.#stopped || this.#failed) return;
    this.#transferTo = transferee;
    this.#schedule();
  }

  /** Whether this member is a learner (in Raft's configuration). */
  isLearnerMember(): boolean {
    return this.#raw.raft.isLearner;
  }

  #enqueue(data: Uint8Array | ConfChangeV2): number | undefined {
    if (this.#stopped || this.#failed) throw new EtcdError('ETCD_ERR_SERVER_STOPPED');
    if (!this.#isLeader) {
      if (this.#lead === 0n) throw new EtcdError('ETCD_ERR_RAFT_NO_LEADER');
      this.#forwards.push(data);
      this.#schedule();
      return undefined;
    }
    this.#proposals.push(data);
    this.#schedule();
    return this.lastIndex;
  }

  /**
   * Raft's ReadIndex (ReadOnlySafe: the leader's commit index, once a quorum answered a
   * heartbeat round). Reads arriving while a round is being prepared share it: one round per
   * Ready-loop turn, whatever the number of reads.
   */
  readIndex(): Promise<number> {
    if (this.#stopped || this.#failed) return Promise.reject(new EtcdError('ETCD_ERR_SERVER_STOPPED'));
    return new Promise<number>((resolve, reject) => {
      this.#nextRound.push({ resolve, reject });
      this.#schedule();
    });
  }

  /**
   * `index` is synced in the store. The WAL and the in-memory log keep the catch-up entries
   * below it (a restarted leader reads them back: RaftOpener.recoverFrom), the rest may go.
   */
  releaseLog(index: number): void {
    const to = this.#storage.releasableTo(Math.min(index, this.#raw.raft.raftLog.applied));
    if (to <= 0) return;
    this.#log.releaseTo(to + 1);
    this.#storage.release(Math.min(index, this.#raw.raft.raftLog.applied));
  }

  /**
   * No new proposals; queued ones are stepped and persisted (committing them needs a quorum:
   * those that do not commit are failed by the server). Then no more ticks or messages.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.#failed && this.#proposals.length > 0) {
      await this.#readyDone;
      this.#pump(true);
    }
    await this.#readyDone;
    this.#failReads(new EtcdError('ETCD_ERR_SERVER_STOPPED'));
    this.#transport.close();
    for (const w of this.#startedWaiters.splice(0)) w();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#stopped) await this.stop();
    this.#closed = true;
    await this.#log.close();
  }

  // ---- the Ready loop ----

  #receive(m: Message): void {
    if (this.#stopped || this.#failed) return;
    this.#inbox.push(m);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#inReady || this.#stopped || this.#failed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump(false);
    });
  }

  /** One turn: step the queued inputs, then handle one Ready (see the file comment). */
  #pump(stopping: boolean): void {
    if (this.#inReady || this.#failed || (this.#stopped && !stopping)) return;
    const raw = this.#raw;
    try {
      // Applied membership changes first: they change no index (single changes, no joint state).
      for (const cc of this.#confChanges.splice(0)) this.#storage.setConfState(raw.applyConfChange(cc));
      for (const r of this.#snapshotReports.splice(0)) raw.reportSnapshot(r.to, r.ok);
      if (this.#proposals.length > 0) {
        const items = this.#proposals;
        this.#proposals = [];
        const expectedLast = raw.raft.raftLog.lastIndex() + items.length;
        // Still the leader of the term the indexes were given in: nothing was stepped since.
        // (A membership change Raft refuses while another is pending is appended as an empty entry.)
        if (!proposeInOrder(raw, items) || raw.raft.raftLog.lastIndex() !== expectedLast) {
          throw new Error(`raft node ${this.#id.toString(16)}: a batch of ${items.length} proposals ending at ${expectedLast} was not appended`);
        }
      }
      if (this.#forwards.length > 0) {
        // Dropped (false) if the leader is gone meanwhile: the proposers time out, as in etcd.
        proposeInOrder(raw, this.#forwards);
        this.#forwards = [];
      }
      if (this.#transferTo !== undefined && !stopping) {
        raw.transferLeadership(this.#transferTo);
        this.#transferTo = undefined;
      }
      if (!stopping) {
        for (const m of this.#inbox.splice(0)) {
          const lastBefore = raw.raft.raftLog.lastIndex();
          try {
            raw.step(m);
          } catch (err) {
            // A peer sent a message type that never crosses the network: drop it, as etcd does.
            if (!(err instanceof RaftError && err.code === 'ETCD_ERR_RAFT_STEP_LOCAL_MSG')) throw err;
          }
          // The leader's log grew by entries this member did not propose (a forwarded MsgProp).
          const last = raw.raft.raftLog.lastIndex();
          if (m.type === MessageType.MsgProp && last > lastBefore && raw.raft.state === StateType.Leader) {
            for (const l of this.#appendedByOthersListeners) l(last);
          }
        }
        for (; this.#ticks > 0; this.#ticks--) {
          raw.tick();
          this.#tickReads();
        }
        this.#startReadRound();
      }
      if (!raw.hasReady()) return;
      const rd = raw.ready();
      this.#inReady = true;
      this.#readyDone = this.#handleReady(rd);
    } catch (err) {
      this.#fail(err);
    }
  }

  async #handleReady(rd: Ready): Promise<void> {
    try {
      if (rd.softState !== null) this.#softStateChanged(rd.softState.lead, rd.softState.raftState);
      // Nothing is stepped until advance(): the state and term now are the Ready's.
      const asLeader = this.#asyncLeaderAppend && this.#raw.raft.state === StateType.Leader;
      const ackTerm = this.#raw.raft.term;
      // A leader's messages (MsgApp, heartbeats, read-index answers) promise nothing about its
      // own disk, unless its term or vote is new in this Ready (then the usual rule).
      const sendEarly = asLeader && (rd.hardState === null || (rd.hardState.term === this.#writtenTerm && rd.hardState.vote === this.#writtenVote));
      if (sendEarly && rd.messages.length > 0 && !this.#stopped) this.#transport.send(this.#takeSnapshots(rd.messages));
      let hardState = rd.hardState;
      if (rd.snapshot !== null) {
        // A follower restored a snapshot: the store is swapped (the WAL marker and this Ready's
        // hard state durable first) before anything of this Ready goes on (docs/cluster.md).
        // The hard state goes with the marker, unless entries after the snapshot came in the same
        // Ready: then with them (its commit may point into them).
        if (this.#snapshots === undefined) throw new Error('raft node: a snapshot to install, and no snapshot support');
        const withMarker = rd.entries.length === 0 ? hardState : null;
        await this.#snapshots.install(rd.snapshot, withMarker);
        if (this.#failed) return;
        this.#storage.applySnapshot(rd.snapshot);
        this.#storage.setConfState(rd.snapshot.metadata.confState);
        if (withMarker !== null) {
          this.#storage.setHardState(withMarker);
          this.#writtenTerm = withMarker.term;
          this.#writtenVote = withMarker.vote;
          hardState = null;
        }
        // The store now holds everything through the snapshot's index, durably.
        this.#durableLast = Math.max(this.#durableLast, rd.snapshot.metadata.index);
        this.#committed = rd.snapshot.metadata.index;
      }
      if (rd.entries.length > 0 || hardState !== null) {
        const startedMs = performance.now();
        const appended = this.#log.append(hardState, rd.entries);
        if (hardState !== null) {
          this.#writtenTerm = hardState.term;
          this.#writtenVote = hardState.vote;
        }
        if (rd.mustSync) {
          await appended;
          this.#onAppended?.((performance.now() - startedMs) / 1000, rd.entries.length);
          if (this.#failed) return;
          if (rd.entries.length > 0) this.#durableLast = rd.entries[rd.entries.length - 1]!.index;
        } else {
          // Only the commit index changed: nothing any message or apply below depends on (a
          // restart re-learns the commit index from the leader; the store's applied index is
          // the floor, RaftLogStorage). Written in order with the next append, not waited for:
          // waiting would add an fdatasync to every write's latency (etcd does not sync it either).
          appended.catch((err: unknown) => this.#fail(err));
        }
        this.#storage.append(rd.entries);
        if (hardState !== null) this.#storage.setHardState(hardState);
      }
      if (!sendEarly && rd.messages.length > 0 && !this.#stopped) this.#transport.send(this.#takeSnapshots(rd.messages));
      if (rd.committedEntries.length > 0) {
        const last = rd.committedEntries[rd.committedEntries.length - 1]!.index;
        // A member never applies (or answers) an entry that is not durable here, even when its
        // followers alone committed it (asyncLeaderAppend).
        if (last > this.#durableLast) throw new Error(`raft node ${this.#id.toString(16)}: committed entries through ${last} beyond the durable index ${this.#durableLast}`);
        this.#committed = last;
        for (const l of this.#committedListeners) l(rd.committedEntries);
      }
      for (const rs of rd.readStates) this.#answerRound(rs.requestCtx, rs.index);
      this.#raw.advance();
      if (rd.committedEntries.length > 0) this.#storage.trim(this.#raw.raft.raftLog.applied);
      // This leader's own append is durable: it counts toward the quorum now (may commit).
      if (asLeader && rd.entries.length > 0) this.#raw.leaderAppended(rd.entries[rd.entries.length - 1]!.index, ackTerm);
    } catch (err) {
      this.#fail(err);
      return;
    } finally {
      this.#inReady = false;
    }
    if (
      this.#proposals.length > 0 || this.#forwards.length > 0 || this.#inbox.length > 0 || this.#ticks > 0 || this.#nextRound.length > 0 ||
      this.#confChanges.length > 0 || this.#snapshotReports.length > 0 || this.#transferTo !== undefined || this.#raw.hasReady()
    ) {
      this.#schedule();
    }
  }

  /**
   * MsgSnaps go to the snapshot port, the rest to the transport. The transfer's outcome is
   * stepped back (reportSnapshot) in a later turn; a failure's only after a delay, so a follower
   * that keeps refusing does not get a store copy in a loop.
   */
  #takeSnapshots(messages: readonly Message[]): readonly Message[] {
    if (!messages.some((m) => m.type === MessageType.MsgSnap)) return messages;
    const rest: Message[] = [];
    for (const m of messages) {
      if (m.type !== MessageType.MsgSnap) {
        rest.push(m);
        continue;
      }
      const port = this.#snapshots;
      if (port === undefined) continue;
      void port.send(m).catch(() => false).then((ok) => {
        if (ok === undefined) return;
        const report = (): void => {
          if (this.#stopped || this.#failed) return;
          this.#snapshotReports.push({ to: m.to, ok });
          this.#schedule();
        };
        if (ok) report();
        else setTimeout(report, SNAPSHOT_RETRY_DELAY_MS).unref();
      });
    }
    return rest;
  }

  #softStateChanged(lead: NodeId, state: StateType): void {
    const wasLeader = this.#isLeader;
    const leadChanged = lead !== this.#lead;
    if (leadChanged && lead !== 0n) this.#leaderChangesSeen++;
    this.#lead = lead;
    this.#isLeader = state === StateType.Leader;
    if (leadChanged) {
      // A read round asked of the old leader may never be answered (etcd: ErrLeaderChanged).
      if (this.#rounds.size > 0) this.#failRounds(new EtcdError('ETCD_ERR_RAFT_LEADER_CHANGED'));
    }
    if (wasLeader !== this.#isLeader || (leadChanged && this.#isLeader)) {
      for (const l of this.#leaderListeners) l(this.#raw.raft.term, this.#isLeader);
    }
    if (lead !== 0n) for (const w of this.#startedWaiters.splice(0)) w();
  }

  // ---- read index ----

  #startReadRound(): void {
    if (this.#nextRound.length === 0) return;
    const ctx = this.#nextCtx();
    const round: ReadRound = { waiters: this.#nextRound, sinceSentTicks: 0, ageTicks: 0, sent: false };
    this.#nextRound = [];
    this.#rounds.set(ctxKey(ctx), round);
    this.#sendRound(ctx, round);
  }

  #sendRound(ctx: Uint8Array, round: ReadRound): void {
    round.sinceSentTicks = 0;
    // Dropped without a leader: it is sent again after readRetryTicks.
    round.sent = this.#raw.readIndex(ctx);
  }

  #tickReads(): void {
    for (const [key, round] of this.#rounds) {
      round.ageTicks++;
      round.sinceSentTicks++;
      if (round.ageTicks >= this.#readTimeoutTicks) {
        this.#rounds.delete(key);
        const err = new EtcdError('ETCD_ERR_SERVER_TIMEOUT');
        for (const w of round.waiters) w.reject(err);
      } else if (round.sinceSentTicks >= this.#readRetryTicks) {
        this.#sendRound(ctxFromKey(key), round);
      }
    }
  }

  #answerRound(ctx: Uint8Array, index: number): void {
    const key = ctxKey(ctx);
    const round = this.#rounds.get(key);
    if (round === undefined) return;
    this.#rounds.delete(key);
    for (const w of round.waiters) w.resolve(index);
  }

  #failRounds(err: Error): void {
    for (const round of this.#rounds.values()) for (const w of round.waiters) w.reject(err);
    this.#rounds.clear();
  }

  #failReads(err: Error): void {
    this.#failRounds(err);
    for (const w of this.#nextRound.splice(0)) w.reject(err);
  }

  #nextCtx(): Uint8Array {
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setBigUint64(0, ++this.#readSeq);
    return ctx;
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = err instanceof Error ? err : new Error(String(err));
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#failReads(this.#failed);
    for (const w of this.#startedWaiters.splice(0)) w();
    for (const l of this.#fatalListeners) l(this.#failed);
  }
}

/** Steps proposals in order: runs of entry data as one batch, each membership change alone. */
function proposeInOrder(raw: RawNode, items: readonly (Uint8Array | ConfChangeV2)[]): boolean {
  let ok = true;
  let run: Uint8Array[] = [];
  for (const it of items) {
    if (it instanceof Uint8Array) {
      run.push(it);
      continue;
    }
    if (run.length > 0) ok = raw.proposeBatch(run) && ok;
    run = [];
    ok = raw.proposeConfChange(it) && ok;
  }
  if (run.length > 0) ok = raw.proposeBatch(run) && ok;
  return ok;
}

function ctxKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('hex');
}

function ctxFromKey(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, 'hex'));
}
