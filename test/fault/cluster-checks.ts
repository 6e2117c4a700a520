/**
 * Checks on a multi-member cluster shared by the partition and kill tests: who leads (as the
 * members say through Status), bounded waits on a state, and convergence (every member holds the
 * same keys at the same revisions, with the same HashKV).
 */
import assert from 'node:assert/strict';
import type { Cluster, Member } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { sleep } from '../e2e/framework/process.js';
import { etcdserverpb } from '../../src/proto/pb.js';

export interface MemberStatus {
  member: Member;
  id: bigint;
  leader: bigint;
  term: number;
}

/** Status of one member, or undefined if it does not answer within `deadlineMs`. */
export async function statusOf(m: Member, deadlineMs = 1000): Promise<MemberStatus | undefined> {
  const raw = new RawEtcdClient(m.endpoint);
  try {
    const r = await raw.call('/etcdserverpb.Maintenance/Status', etcdserverpb.StatusRequest.encode({}).finish(), deadlineMs);
    if (!r.ok) return undefined;
    const st = etcdserverpb.StatusResponse.decode(r.bytes);
    return { member: m, id: BigInt(st.header?.memberId?.toString() ?? '0'), leader: BigInt(st.leader?.toString() ?? '0'), term: Number(st.raftTerm) };
  } finally {
    raw.close();
  }
}

/** Poll `probe` every 100 ms until it returns a value, or fail after `boundMs` with `what()`. */
export async function waitFor<T>(what: () => string, boundMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not reached within ${boundMs} ms: ${what()}`);
    await sleep(100);
  }
}

/**
 * The leader that every member of `members` names, if they agree and it is one of them:
 * the member and the highest term seen. Undefined otherwise.
 */
export async function agreedLeader(members: readonly Member[]): Promise<{ leader: Member; term: number } | undefined> {
  const sts = await Promise.all(members.map((m) => statusOf(m)));
  if (sts.some((s) => s === undefined)) return undefined;
  const leaders = new Set(sts.map((s) => s!.leader));
  if (leaders.size !== 1) return undefined;
  const id = sts[0]!.leader;
  const leader = sts.find((s) => s!.id === id);
  if (leader === undefined) return undefined;
  return { leader: leader.member, term: Math.max(...sts.map((s) => s!.term)) };
}

interface Snapshot {
  revision: number;
  kvs: string[];
}

async function snapshotOf(m: Member): Promise<Snapshot | undefined> {
  const raw = new RawEtcdClient(m.endpoint);
  try {
    const r = await raw.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), serializable: true });
    if (!r.ok) return undefined;
    const kvs = r.value.kvs.map(
      (kv) => `${Buffer.from(kv.key ?? []).toString()}=${Buffer.from(kv.value ?? []).toString()} c${kv.createRevision} m${kv.modRevision} v${kv.version}`,
    );
    return { revision: Number(r.value.header?.revision), kvs };
  } finally {
    raw.close();
  }
}

/**
 * Wait (bounded) until every member answers a serializable read at the same revision, then
 * assert that they hold the same keys with the same values, create and mod revisions and
 * versions, and the same HashKV at that revision. Returns the revision.
 */
export async function assertConverged(c: Cluster, boundMs = 60_000): Promise<number> {
  let last: (Snapshot | undefined)[] = [];
  const snaps = await waitFor(
    () => `members did not reach one revision: ${last.map((s, i) => `${c.members[i]!.name}@${s?.revision ?? '-'}`).join(' ')}`,
    boundMs,
    async () => {
      last = await Promise.all(c.members.map((m) => snapshotOf(m)));
      if (last.some((s) => s === undefined)) return undefined;
      return last.every((s) => s!.revision === last[0]!.revision) ? (last as Snapshot[]) : undefined;
    },
  );
  const rev = snaps[0]!.revision;
  for (let i = 1; i < snaps.length; i++) {
    assert.deepEqual(snaps[i]!.kvs, snaps[0]!.kvs, `${c.members[i]!.name} and ${c.members[0]!.name} hold different keys at revision ${rev}`);
  }
  const hashes: string[] = [];
  for (const m of c.members) {
    const raw = new RawEtcdClient(m.endpoint);
    try {
      const h = await raw.hashKV(rev);
      if (!h.ok) assert.fail(`${m.name} HashKV(${rev}): ${h.error.details}`);
      hashes.push(String(h.value.hash));
    } finally {
      raw.close();
    }
  }
  assert.equal(new Set(hashes).size, 1, `HashKV at ${rev} differs: ${hashes.join(', ')}`);
  return rev;
}
