/**
 * A cluster of full members (EtcdServer, WAL, LMDB in temp dirs, ONE_THREAD) on RaftNodes in
 * one process, for test/unit/server/raft-node.test.ts (LocalPeerHub) and
 * test/unit/server/peer-http2.test.ts (the HTTP/2 peer transport on 127.0.0.1).
 *
 * Every wait is bounded and polls a state (never a sleep that decides pass or fail): the
 * bounds are generous, a slow machine only makes the test slower.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { parseServerConfig } from '../../../src/config/config.js';
import { startMember, type Member } from '../../../src/server/bootstrap.js';
import { ONE_THREAD } from '../../../src/server/openers.js';
import { computeClusterId, computeMemberId } from '../../../src/server/identity.js';
import { raftConsensus } from '../../../src/server/node/raft-opener.js';
import type { PeerTransport, RaftNode } from '../../../src/server/node/raft-node.js';
import type { RaftSnapshots } from '../../../src/server/node/raft-snapshots.js';
import { LocalPeerHub } from '../../../src/server/peer/local-hub.js';
import { SeededRng } from '../../../src/raft/index.js';
import { EtcdError } from '../../../src/errors/errors.js';
import { nopLogger } from '../../../src/util/logger.js';

export const b = (s: string): Buffer => Buffer.from(s);
export const str = (u: Uint8Array | null | undefined): string => Buffer.from(u ?? []).toString();
export const isCode = (code: string) => (e: unknown) => e instanceof EtcdError && e.code === code;

/** Opens the transport of member `i` (before its node). */
export type TransportFactory = (i: number, cluster: Cluster) => PeerTransport | Promise<PeerTransport>;

/** One tick: 10 ms; an election timeout: 10 ticks (etcd's ratio, ten times faster). */
const HEARTBEAT_MS = 10;
const ELECTION_MS = 100;
/** Bound of every wait on a state. */
const WAIT_MS = 20_000;

export async function waitFor<T>(what: string | (() => string), probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Slot {
  readonly name: string;
  readonly dir: string;
  readonly id: bigint;
  member: Member | undefined;
  node: RaftNode | undefined;
  /** Its snapshot side (when its transport has the snapshot path). */
  snapshots?: RaftSnapshots | undefined;
}

export class Cluster {
  readonly hub = new LocalPeerHub();
  readonly slots: Slot[];
  readonly voters: bigint[];
  readonly clusterId: bigint;
  #seed = 1;

  constructor(
    size: number,
    readonly extraFlags: string[] = [],
    readonly catchUpEntries?: number,
    readonly transportFor: TransportFactory = (i, c) => c.hub.join(c.slots[i]!.id),
  ) {
    this.slots = Array.from({ length: size }, (_, i) => {
      const name = `m${i}`;
      return { name, dir: mkdtempSync(join(tmpdir(), `etcd-ts-raft-${name}-`)), id: computeMemberId([peerUrl(i)], 'etcd-cluster'), member: undefined, node: undefined };
    });
    this.voters = this.slots.map((s) => s.id);
    this.clusterId = computeClusterId(this.voters);
  }

  async start(i: number): Promise<Member> {
    const slot = this.slots[i]!;
    const cfg = parseServerConfig(
      ['--data-dir', slot.dir, '--name', slot.name, '--initial-advertise-peer-urls', peerUrl(i), ...this.extraFlags],
      {},
      { dataDirInitialized: false },
    );
    const member = await startMember(
      cfg,
      nopLogger(),
      ONE_THREAD,
      raftConsensus({
        voters: this.voters,
        transport: await this.transportFor(i, this),
        heartbeatMs: HEARTBEAT_MS,
        electionMs: ELECTION_MS,
        rng: new SeededRng(this.#seed++),
        ...(this.catchUpEntries !== undefined ? { catchUpEntries: this.catchUpEntries } : {}),
        onOpened: (node) => (slot.node = node),
        onSnapshots: (s) => (slot.snapshots = s),
      }),
    );
    slot.member = member;
    return member;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.start(i)));
  }

  async stop(i: number): Promise<void> {
    const slot = this.slots[i]!;
    const m = slot.member;
    slot.member = undefined;
    slot.node = undefined;
    await m?.close();
  }

  running(): Slot[] {
    return this.slots.filter((s) => s.member !== undefined);
  }

  /** The one running member that leads, once every running member agrees on it. */
  async leader(): Promise<number> {
    return waitFor('one leader that every running member knows', () => {
      const run = this.running();
      const leaders = run.filter((s) => s.node!.isLeader());
      if (leaders.length !== 1) return undefined;
      const id = leaders[0]!.id;
      if (!run.every((s) => s.node!.leaderId === id)) return undefined;
      return this.slots.indexOf(leaders[0]!);
    });
  }

  async waitApplied(index: number, slots: Slot[] = this.running()): Promise<void> {
    await waitFor(() => `applied index ${index} on ${slots.map((s) => s.name).join(', ')} (${this.describe()})`, () =>
      slots.every((s) => s.member!.server.appliedIndex >= index),
    );
  }

  /** Each member's state, for failure messages. */
  describe(): string {
    return this.slots
      .map((s) =>
        s.member === undefined
          ? `${s.name}: stopped`
          : `${s.name}: term ${s.node!.term} lead ${s.node!.leaderId.toString(16)} committed ${s.node!.committedIndex} applied ${s.member.server.appliedIndex} last ${s.node!.lastIndex}`,
      )
      .join('; ');
  }

  async close(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) await this.stop(i).catch(() => undefined);
    for (const s of this.slots) rmSync(s.dir, { recursive: true, force: true });
  }
}

export function peerUrl(i: number): string {
  return `http://127.0.0.1:${23800 + i}`;
}

export async function get(m: Member, key: string, serializable = false): Promise<string | undefined> {
  const r = await m.server.range({ key: b(key), serializable });
  return r.kvs?.[0] === undefined ? undefined : str(r.kvs[0].value);
}

export function putRevision(encoded: Uint8Array): number {
  return Number(etcdserverpb.PutResponse.decode(encoded).header!.revision);
}

