/**
 * The corruption checks' decisions (src/server/corruption-check.ts, docs/operations.md
 * "Corruption checks") against fake members: which answers are mismatches (etcd 3.4.23's rules),
 * which are skipped, that the initial check names the peers, and that a round raises one alarm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionError, CorruptionMonitor, initialCorruptCheck, type CorruptionLocal, type CorruptionPeers, type PeerHash, type StoreHash } from '../../../src/server/corruption-check.js';
import { Logger, MemorySink } from '../../../src/util/logger.js';

function logger(): { log: Logger; lines: () => { msg: string; [k: string]: unknown }[] } {
  const sink = new MemorySink();
  const log = new Logger({ level: 'debug', sinks: [sink] });
  return { log, lines: () => sink.lines.map((l) => JSON.parse(l) as { msg: string }) };
}

function local(hashes: StoreHash[], leading = true): CorruptionLocal & { alarms: number; barriers: number } {
  let i = 0;
  const me = {
    memberId: 0x1n,
    alarms: 0,
    barriers: 0,
    hashKv: async () => hashes[Math.min(i++, hashes.length - 1)]!,
    isLeader: () => leading,
    linearizableBarrier: async () => void me.barriers++,
    raiseCorrupt: async () => void me.alarms++,
  };
  return me;
}

function peers(answers: Record<string, PeerHash>, asked: [bigint, number][] = []): CorruptionPeers {
  return {
    peers: () => Object.keys(answers).map((k) => BigInt(k)),
    hashKv: async (id, revision) => {
      asked.push([id, revision]);
      return answers[String(id)]!;
    },
  };
}

const ok = (memberId: bigint, revision: number, compactRevision: number, hash: number): PeerHash => ({ ok: true, memberId, revision, compactRevision, hash });

test('initial check: equal hashes pass; each peer is asked at the local revision', async () => {
  const { log, lines } = logger();
  const asked: [bigint, number][] = [];
  await initialCorruptCheck(local([{ hash: 7, revision: 20, compactRevision: -1 }]), peers({ 2: ok(2n, 25, -1, 7), 3: ok(3n, 20, -1, 7) }, asked), log, 1000);
  assert.deepEqual(asked, [[2n, 20], [3n, 20]]);
  assert.ok(lines().some((l) => l.msg === 'initial corruption checking passed; no corruption'));
});

test('initial check: another hash under the same compact revision refuses the start and names the peer; other answers are skipped', async () => {
  const { log, lines } = logger();
  const p = peers({
    2: ok(2n, 20, -1, 8), // mismatch
    3: ok(3n, 20, 5, 9), // another compact revision: logged, not a mismatch
    4: { ok: false, code: 'ETCD_ERR_MVCC_FUTURE_REV', reason: 'future' },
    5: { ok: false, code: 'ETCD_ERR_MVCC_COMPACTED', reason: 'compacted' },
    6: { ok: false, reason: 'no answer in 1000 ms' },
  });
  await assert.rejects(initialCorruptCheck(local([{ hash: 7, revision: 20, compactRevision: -1 }]), p, log, 1000), (e: unknown) => {
    assert.ok(e instanceof CorruptionError);
    assert.equal(e.message, '1 found data inconsistency with peers (2: hash 8, local 7, revision 20, compact revision -1)');
    return true;
  });
  const msgs = lines().map((l) => l.msg);
  for (const m of [
    'found different hash values from remote peer',
    'found different compact revision values from remote peer',
    'cannot fetch hash from slow remote peer',
    'cannot fetch hash from remote peer; local member is behind',
    'failed hash kv request',
  ]) {
    assert.ok(msgs.includes(m), `logged: ${m}`);
  }
  const diff = lines().find((l) => l.msg === 'found different hash values from remote peer')!;
  assert.deepEqual([diff['local-member-hash'], diff['remote-peer-hash'], diff['remote-peer-id']], [7, 8, '2']);
});

test('periodic round: a follower with another hash at the leader revision raises one CORRUPT alarm, both hashes logged', async () => {
  const { log, lines } = logger();
  const me = local([{ hash: 7, revision: 20, compactRevision: -1 }]);
  const asked: [bigint, number][] = [];
  const m = new CorruptionMonitor(me, peers({ 2: ok(2n, 20, -1, 8), 3: ok(3n, 19, -1, 9) }, asked), log, 1000);
  const r = await m.checkOnce();
  assert.deepEqual([r.checked, r.peersChecked, r.mismatches.length, me.alarms, me.barriers], [true, 2, 2, 1, 1]);
  assert.deepEqual(asked, [[2n, 20], [3n, 20]]);
  const w = lines().filter((l) => l.msg === 'same compact revision then hashes must match');
  assert.deepEqual(w.map((l) => [l['leader-hash'], l['follower-hash'], l['follower-peer-id']]), [[7, 8, '2'], [7, 9, '3']]);
});

test('periodic round: equal hashes, behind or silent peers raise nothing; a peer ahead of the leader, or compacted further, does', async () => {
  const { log } = logger();
  const quiet = local([{ hash: 7, revision: 20, compactRevision: 4 }, { hash: 11, revision: 23, compactRevision: 4 }]);
  const fine = new CorruptionMonitor(quiet, peers({ 2: ok(2n, 22, 4, 7), 3: { ok: false, code: 'ETCD_ERR_MVCC_FUTURE_REV', reason: 'behind' }, 4: { ok: false, reason: 'timeout' } }), log, 1000);
  const r = await fine.checkOnce();
  assert.deepEqual([r.peersChecked, r.mismatches, quiet.alarms], [1, [], 0]);

  const ahead = local([{ hash: 7, revision: 20, compactRevision: 4 }]);
  const r2 = await new CorruptionMonitor(ahead, peers({ 2: ok(2n, 21, 6, 99) }), log, 1000).checkOnce();
  assert.equal(r2.mismatches.length, 2, 'revision above, compact revision above (hashes not compared: other compact revision)');
  assert.equal(ahead.alarms, 1);

  // The leader's own store changed under it: same revision and compaction, another hash.
  const self = local([{ hash: 7, revision: 20, compactRevision: 4 }, { hash: 8, revision: 20, compactRevision: 4 }]);
  const r3 = await new CorruptionMonitor(self, peers({}), log, 1000).checkOnce();
  assert.deepEqual([r3.mismatches, self.alarms], [['found hash mismatch'], 1]);
});

test('periodic round: a member that does not lead checks nothing; the interval must be above 0', async () => {
  const { log } = logger();
  const follower = local([{ hash: 7, revision: 20, compactRevision: -1 }], false);
  const asked: [bigint, number][] = [];
  const r = await new CorruptionMonitor(follower, peers({ 2: ok(2n, 20, -1, 8) }, asked), log, 1000).checkOnce();
  assert.deepEqual([r.checked, asked.length, follower.alarms, follower.barriers], [false, 0, 0, 0]);
  assert.throws(() => new CorruptionMonitor(follower, peers({}), log, 0), RangeError);
});
