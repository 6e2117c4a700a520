/**
 * The corruption checks (docs/operations.md, "Corruption checks"; etcd 3.4.23's corrupt.go):
 *
 * - `initialCorruptCheck`: a restarting member compares its HashKV at its own revision with every
 *   other member's at that revision; a different hash under the same compact revision is a
 *   mismatch, and one mismatch or more refuses the start (the caller exits).
 * - `CorruptionMonitor`: every `intervalMs` the leader takes its HashKV, asks every other member
 *   for theirs at its revision, takes its own again after a linearizable read barrier, and on a
 *   mismatch raises the CORRUPT alarm (memberID 0) through the log.
 *
 * Hashes are compared only at one revision and one compact revision on both sides: a hash at a
 * fixed revision does not change with later applies, so the checks run while the cluster writes.
 * The peers are reached over the peer port (src/server/peer/hashkv-forwarding.ts); the interfaces
 * the checks need are declared here, by their consumer.
 */
import type { ErrorCode } from '../errors/errors.js';
import type { Logger } from '../util/logger.js';
import type { NodeId } from '../raftpb/types.js';
import { idToHex } from '../util/pure/id64.js';

/** A member's HashKV as the checks compare it: compactRevision is etcd's (-1: never compacted). */
export interface StoreHash {
  readonly hash: number;
  /** The revision the hash covers (the member's current revision when asked for 0). */
  readonly revision: number;
  readonly compactRevision: number;
}

/** One peer's answer: its hash at the revision asked, with its own current revision; or why there is none. */
export type PeerHash =
  | { readonly ok: true; readonly memberId: NodeId; readonly revision: number; readonly compactRevision: number; readonly hash: number }
  | { readonly ok: false; readonly code?: ErrorCode; readonly reason: string };

/** The other members, as the checks reach them. */
export interface CorruptionPeers {
  /** The other members' IDs (this member excluded). */
  peers(): readonly NodeId[];
  /** `peer`'s HashKV at `revision`; never rejects (no answer in time is `ok: false`). */
  hashKv(peer: NodeId, revision: number): Promise<PeerHash>;
}

/** This member, as the checks need it. */
export interface CorruptionLocal {
  readonly memberId: NodeId;
  /** HashKV at the current revision of this member's store. */
  hashKv(): Promise<StoreHash>;
  isLeader(): boolean;
  /** Resolves once every write committed before the call is applied here (a linearizable read). */
  linearizableBarrier(): Promise<void>;
  /** Proposes AlarmRequest{ACTIVATE, CORRUPT, memberID 0} through the log. */
  raiseCorrupt(): Promise<void>;
}

/**
 * The start-up check. Resolves when no peer's hash differs under the same compact revision
 * (peers that are behind, compacted past this member's revision or silent are logged and
 * skipped); rejects with etcd's "found data inconsistency with peers", the peers named.
 */
export async function initialCorruptCheck(local: CorruptionLocal, peers: CorruptionPeers, log: Logger, timeoutMs: number): Promise<void> {
  const self = idToHex(local.memberId);
  log.info('starting initial corruption check', { 'local-member-id': self, timeout: `${timeoutMs}ms` });
  const mine = await local.hashKv();
  const localFields = {
    'local-member-id': self,
    'local-member-revision': mine.revision,
    'local-member-compact-revision': mine.compactRevision,
    'local-member-hash': mine.hash,
  };
  const mismatches: string[] = [];
  for (const id of peers.peers()) {
    const p = await peers.hashKv(id, mine.revision);
    if (!p.ok) {
      const msg =
        p.code === 'ETCD_ERR_MVCC_FUTURE_REV'
          ? 'cannot fetch hash from slow remote peer'
          : p.code === 'ETCD_ERR_MVCC_COMPACTED'
            ? 'cannot fetch hash from remote peer; local member is behind'
            : 'failed hash kv request';
      log.warn(msg, { ...localFields, 'remote-peer-id': idToHex(id), 'requested-revision': mine.revision, error: p.reason });
      continue;
    }
    if (p.hash === mine.hash) continue;
    const fields = {
      ...localFields,
      'remote-peer-id': idToHex(p.memberId),
      'remote-peer-revision': p.revision,
      'remote-peer-compact-revision': p.compactRevision,
      'remote-peer-hash': p.hash,
    };
    if (p.compactRevision !== mine.compactRevision) {
      log.warn('found different compact revision values from remote peer', fields);
      continue;
    }
    log.warn('found different hash values from remote peer', fields);
    mismatches.push(`${idToHex(p.memberId)}: hash ${p.hash}, local ${mine.hash}, revision ${mine.revision}, compact revision ${mine.compactRevision}`);
  }
  if (mismatches.length > 0) throw new CorruptionError(`${self} found data inconsistency with peers (${mismatches.join('; ')})`);
  log.info('initial corruption checking passed; no corruption', { 'local-member-id': self });
}

/** A start refused by the initial check. */
export class CorruptionError extends Error {
  override readonly name = 'CorruptionError';
}

/** What one periodic round found (for tests and the log). */
export interface RoundResult {
  /** False when this member did not lead (nothing was checked). */
  readonly checked: boolean;
  readonly peersChecked: number;
  /** The mismatches found, in etcd's log words; the alarm was proposed when there is any. */
  readonly mismatches: readonly string[];
}

/**
 * The periodic check: one round every `intervalMs` (a round never overlaps the next; the wait
 * starts when a round ends), acting only while this member leads.
 */
export class CorruptionMonitor {
  readonly #local: CorruptionLocal;
  readonly #peers: CorruptionPeers;
  readonly #log: Logger;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;

  constructor(local: CorruptionLocal, peers: CorruptionPeers, log: Logger, intervalMs: number) {
    if (!(intervalMs > 0)) throw new RangeError(`corruption check interval must be above 0 ms, got ${intervalMs}`);
    this.#local = local;
    this.#peers = peers;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#log.info('enabled corruption checking', { 'local-member-id': idToHex(this.#local.memberId), interval: `${this.#intervalMs}ms` });
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.checkOnce().then(
        () => this.#schedule(),
        (err: unknown) => {
          this.#log.warn('failed to check hash KV', { error: err instanceof Error ? err.message : String(err) });
          this.#schedule();
        },
      );
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** One round now (the timer calls it; tests call it directly). Rejects when a step fails. */
  async checkOnce(): Promise<RoundResult> {
    if (!this.#local.isLeader()) return { checked: false, peersChecked: 0, mismatches: [] };
    const first = await this.#local.hashKv();
    const answers: { id: NodeId; p: PeerHash }[] = [];
    for (const id of this.#peers.peers()) answers.push({ id, p: await this.#peers.hashKv(id, first.revision) });
    await this.#local.linearizableBarrier();
    const second = await this.#local.hashKv();
    const log = this.#log;
    const mismatches: string[] = [];
    if (second.hash !== first.hash && second.revision === first.revision && second.compactRevision === first.compactRevision) {
      log.warn('found hash mismatch', {
        'revision-1': first.revision,
        'compact-revision-1': first.compactRevision,
        'hash-1': first.hash,
        'revision-2': second.revision,
        'compact-revision-2': second.compactRevision,
        'hash-2': second.hash,
      });
      mismatches.push('found hash mismatch');
    }
    let peersChecked = 0;
    for (const { id, p } of answers) {
      if (!p.ok) continue;
      peersChecked++;
      const peer = idToHex(id);
      if (p.revision > second.revision) {
        log.warn("revision from follower must be less than or equal to leader's", { 'leader-revision': second.revision, 'follower-revision': p.revision, 'follower-peer-id': peer });
        mismatches.push(`revision ${p.revision} from ${peer} above the leader's ${second.revision}`);
      }
      if (p.compactRevision > second.compactRevision) {
        log.warn("compact revision from follower must be less than or equal to leader's", {
          'leader-compact-revision': second.compactRevision,
          'follower-compact-revision': p.compactRevision,
          'follower-peer-id': peer,
        });
        mismatches.push(`compact revision ${p.compactRevision} from ${peer} above the leader's ${second.compactRevision}`);
      }
      if (p.compactRevision === first.compactRevision && p.hash !== first.hash) {
        log.warn('same compact revision then hashes must match', {
          'leader-compact-revision': second.compactRevision,
          'leader-hash': first.hash,
          'follower-compact-revision': p.compactRevision,
          'follower-hash': p.hash,
          'follower-peer-id': peer,
          revision: first.revision,
        });
        mismatches.push(`hash ${p.hash} from ${peer} at revision ${first.revision}, leader's ${first.hash}`);
      }
    }
    if (mismatches.length > 0) {
      // One alarm per round, as etcd; the member is not known, so the alarm names member 0.
      await this.#local.raiseCorrupt();
    }
    log.info('finished peer corruption check', { 'number-of-peers-checked': peersChecked });
    return { checked: true, peersChecked, mismatches };
  }
}
