import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb, mvccpb } from '../../../src/proto/pb.js';
import { ApplyFatalError, ERR_APPLY_UNSUPPORTED } from '../../../src/apply/interface.js';
import { EntryType } from '../../../src/raftpb/types.js';
import { Harness, b, s } from './helpers.js';

describe('put', () => {
  test('revisions, versions, prev_kv, events', async () => {
    const h = new Harness();
    const r1 = h.apply({ put: { key: b('k'), value: b('v1') } });
    assert.equal(r1.revision, 2); assert.equal(r1.kind, 'put'); assert.equal(r1.requestId, 1n);
    assert.equal(etcdserverpb.PutResponse.decode(r1.response!).header!.revision, 2);
    assert.equal(r1.events.length, 1);
    assert.equal(r1.events[0]!.type, mvccpb.Event.EventType.PUT);
    assert.deepEqual({ ...r1.events[0]!.kv, key: s(r1.events[0]!.kv!.key), value: s(r1.events[0]!.kv!.value) },
      { key: 'k', value: 'v1', createRevision: 2, modRevision: 2, version: 1, lease: 0n });
    const p2 = h.put('k', 'v2', { prevKv: true });
    assert.equal(s(p2.prevKv!.value), 'v1'); assert.equal(p2.prevKv!.version, 1);
    const p3 = h.put('new', 'x', { prevKv: true });
    assert.equal(p3.prevKv, null);
    await h.close();
  });

  test('ignore_value, ignore_lease and their errors', async () => {
    const h = new Harness();
    assert.equal(h.apply({ put: { key: b('k'), ignoreValue: true } }).errorCode, 'ETCD_ERR_KV_KEY_NOT_FOUND');
    assert.equal(h.apply({ put: { key: b('k'), ignoreLease: true } }).errorCode, 'ETCD_ERR_KV_KEY_NOT_FOUND');
    h.put('k', 'v');
    assert.equal(h.apply({ put: { key: b('k'), value: b('x'), ignoreValue: true } }).errorCode, 'ETCD_ERR_KV_VALUE_PROVIDED');
    assert.equal(h.apply({ put: { key: b('k'), lease: 5n, ignoreLease: true } }).errorCode, 'ETCD_ERR_KV_LEASE_PROVIDED');
    h.put('k', '', { ignoreValue: true });
    const kv = h.get('k').kvs![0]!;
    assert.equal(s(kv.value), 'v'); assert.equal(kv.version, 2);
    assert.equal(h.apply({ put: { key: b('k'), value: b('x'), lease: 7n } }).errorCode, 'ETCD_ERR_LEASE_NOT_FOUND');
    assert.equal(h.apply({ put: { key: new Uint8Array(0), value: b('x') } }).errorCode, 'ETCD_ERR_KV_EMPTY_KEY');
    assert.equal(h.applier.currentRevision(), 3);
    await h.close();
  });

  test('lease hook: known lease is stored and kept by ignore_lease', async () => {
    const h = new Harness({ exists: (id) => id === 42n });
    h.put('k', 'v', { lease: 42n });
    h.put('k', 'w', { ignoreLease: true });
    assert.equal(h.get('k').kvs![0]!.lease, 42n);
    await h.close();
  });

  test('64-bit lease IDs and request IDs: exact through apply, the store, watch events and a reopen (decision 0003)', async () => {
    const big = 0x694d_7a1c_2e3f_4b05n; // above 2^53
    const h = new Harness({ exists: (id) => id === big || id === -5n });
    h.nextId = 0x8e9e_0191_2345_6789n; // a request ID as src/server/request-ids.ts makes them
    const r = h.apply({ put: { key: b('k'), value: b('v'), lease: big } });
    assert.equal(r.requestId, 0x8e9e_0191_2345_6789n);
    assert.equal(r.events[0]!.kv!.lease, big, 'the watch event carries the lease');
    h.put('n', 'v', { lease: -5n });
    await h.reopen();
    assert.equal(h.get('k').kvs![0]!.lease, big);
    assert.equal(h.get('n').kvs![0]!.lease, -5n);
    assert.deepEqual(h.reader.view((v) => [...v.keysOfLease(big)].map((k) => s(k))), ['k']);
    assert.deepEqual(h.reader.view((v) => [...v.keysOfLease(-5n)].map((k) => s(k))), ['n']);
    // The encoded RangeResponse a client gets has the exact lease.
    const wire = etcdserverpb.RangeResponse.encode(h.get('k')).finish();
    assert.equal(etcdserverpb.RangeResponse.decode(wire).kvs[0]!.lease, big);
    await h.close();
  });

  test('1 MiB values', async () => {
    const h = new Harness();
    const big = Buffer.alloc(1 << 20, 0x5a);
    h.apply({ put: { key: b('big'), value: big } });
    h.apply({ put: { key: b('big2'), value: Buffer.alloc((1 << 20) + 7, 1) } });
    const kv = h.get('big').kvs![0]!;
    assert.equal(kv.value!.length, 1 << 20);
    assert.ok(Buffer.from(kv.value!).equals(big));
    assert.equal(h.get('big', { rangeEnd: b('bih') }).kvs![1]!.value!.length, (1 << 20) + 7);
    await h.close();
  });
});

describe('delete range', () => {
  test('deleted count, prev_kvs, one revision for many keys, no bump when nothing deleted', async () => {
    const h = new Harness();
    h.put('a', '1'); h.put('b', '2'); h.put('c', '3');
    const r = h.apply({ deleteRange: { key: b('a'), rangeEnd: b('c'), prevKv: true } });
    const d = etcdserverpb.DeleteRangeResponse.decode(r.response!);
    assert.equal(d.deleted, 2); assert.deepEqual(d.prevKvs.map((kv) => s(kv.value)), ['1', '2']);
    assert.equal(d.header!.revision, 5); assert.equal(r.revision, 5);
    assert.deepEqual(r.events.map((e) => [e.type, s(e.kv!.key), e.kv!.modRevision]), [[1, 'a', 5], [1, 'b', 5]]);
    const n = h.del('zzz');
    assert.equal(Number(n.deleted), 0); assert.equal(n.header!.revision, 5);
    assert.equal(h.del('c').prevKvs.length, 0);
    assert.equal(h.applier.currentRevision(), 6);
    const p = h.put('a', 'again');
    assert.equal(p.header!.revision, 7);
    assert.equal(h.get('a').kvs![0]!.createRevision, 7);
    assert.equal(h.get('a').kvs![0]!.version, 1);
    await h.close();
  });
});

const CT = etcdserverpb.Compare.CompareTarget;
const CR = etcdserverpb.Compare.CompareResult;

describe('txn', () => {
  test('every compare target x result', async () => {
    const h = new Harness({ exists: (id) => id === 9n });
    h.put('k', 'm'); h.put('k', 'm', { lease: 9n }); // create 2, mod 3, version 2, lease 9
    const cases: Array<[etcdserverpb.Compare.$Properties, boolean[]]> = [
      // [compare with target value, results for EQUAL, GREATER, LESS, NOT_EQUAL]
      [{ target: CT.VERSION, version: 2 }, [true, false, false, false]],
      [{ target: CT.VERSION, version: 1 }, [false, true, false, true]],
      [{ target: CT.CREATE, createRevision: 3 }, [false, false, true, true]],
      [{ target: CT.MOD, modRevision: 3 }, [true, false, false, false]],
      [{ target: CT.VALUE, value: b('l') }, [false, true, false, true]],
      [{ target: CT.VALUE, value: b('n') }, [false, false, true, true]],
      [{ target: CT.LEASE, lease: 9n }, [true, false, false, false]],
      [{ target: CT.LEASE, lease: 10n }, [false, false, true, true]],
    ];
    for (const [c, want] of cases) {
      [CR.EQUAL, CR.GREATER, CR.LESS, CR.NOT_EQUAL].forEach((result, i) => {
        const { resp } = h.txn({ compare: [{ key: b('k'), result, ...c }] });
        assert.equal(resp!.succeeded, want[i], `${JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))} result ${result}`);
      });
    }
    // missing key: version/create/mod compare against 0; VALUE always fails
    assert.equal(h.txn({ compare: [{ key: b('nope'), target: CT.VERSION, result: CR.EQUAL, version: 0 }] }).resp!.succeeded, true);
    assert.equal(h.txn({ compare: [{ key: b('nope'), target: CT.CREATE, result: CR.EQUAL, createRevision: 0 }] }).resp!.succeeded, true);
    assert.equal(h.txn({ compare: [{ key: b('nope'), target: CT.VALUE, result: CR.EQUAL, value: b('') }] }).resp!.succeeded, false);
    assert.equal(h.txn({ compare: [{ key: b('nope'), target: CT.VALUE, result: CR.NOT_EQUAL, value: b('x') }] }).resp!.succeeded, false);
    // read-only txns do not bump the revision
    assert.equal(h.applier.currentRevision(), 3);
    await h.close();
  });

  test('compare over a range: all keys must satisfy', async () => {
    const h = new Harness();
    h.put('p/a', '1'); h.put('p/b', '2'); h.put('q', '1');
    const cmp = (value: string, result: number) =>
      h.txn({ compare: [{ key: b('p/'), rangeEnd: b('p0'), target: CT.VALUE, result, value: b(value) }] }).resp!.succeeded;
    assert.equal(cmp('1', CR.EQUAL), false);
    assert.equal(cmp('0', CR.GREATER), true);
    assert.equal(cmp('2', CR.LESS), false);
    assert.equal(h.txn({ compare: [{ key: b('p/'), rangeEnd: b('p0'), target: CT.VERSION, result: CR.EQUAL, version: 1 }] }).resp!.succeeded, true);
    await h.close();
  });

  test('branches, one revision with sub revisions, reads see own writes, nested txns', async () => {
    const h = new Harness();
    h.put('x', '0');
    const { res, resp } = h.txn({
      compare: [{ key: b('x'), target: CT.VALUE, result: CR.EQUAL, value: b('0') }],
      success: [
        { requestPut: { key: b('a'), value: b('1') } },
        { requestPut: { key: b('b'), value: b('2') } },
        { requestRange: { key: b('a'), rangeEnd: b('c') } },
        { requestDeleteRange: { key: b('x'), prevKv: true } },
        { requestTxn: {
          compare: [{ key: b('a'), target: CT.VERSION, result: CR.EQUAL, version: 0 }], // before the txn: a absent
          success: [{ requestPut: { key: b('n'), value: b('yes') } }],
          failure: [{ requestPut: { key: b('n'), value: b('no') } }],
        } },
      ],
      failure: [{ requestPut: { key: b('f'), value: b('f') } }],
    });
    assert.equal(resp!.succeeded, true);
    assert.equal(res.revision, 3); assert.equal(resp!.header!.revision, 3);
    assert.deepEqual(resp!.responses[2]!.responseRange!.kvs!.map((kv) => s(kv.key)), ['a', 'b']);
    assert.equal(resp!.responses[2]!.responseRange!.header!.revision, 3);
    assert.equal(resp!.responses[3]!.responseDeleteRange!.deleted, 1);
    assert.equal(resp!.responses[4]!.responseTxn?.succeeded, true);
    assert.equal(s(h.get('n').kvs![0]!.value), 'yes');
    assert.deepEqual(res.events.map((e) => [s(e.kv!.key), e.kv!.modRevision]), [['a', 3], ['b', 3], ['x', 3], ['n', 3]]);
    assert.equal(h.get('f').count, 0);
    const f = h.txn({ compare: [{ key: b('x'), target: CT.VERSION, result: CR.GREATER, version: 0 }], failure: [{ requestPut: { key: b('f'), value: b('f') } }] });
    assert.equal(f.resp!.succeeded, false); assert.equal(f.res.revision, 4);
    await h.close();
  });

  test('a failing op leaves nothing (all-or-nothing) and later entries still apply', async () => {
    const h = new Harness();
    h.put('a', '1');
    const e1 = h.entry({ txn: { success: [
      { requestPut: { key: b('a'), value: b('2') } },
      { requestDeleteRange: { key: b('a') } },
      { requestPut: { key: b('missing'), ignoreValue: true } },
    ] } });
    const e2 = h.entry({ txn: { success: [{ requestRange: { key: b('a'), revision: 99 } }, { requestPut: { key: b('z'), value: b('z') } }] } });
    const e3 = h.entry({ txn: { success: [{ requestPut: { key: b('z'), value: b('z'), lease: 3n } }] } });
    const e4 = h.entry({ put: { key: b('ok'), value: b('1') } });
    const rs = h.applier.applyEntries([e1, e2, e3, e4]);
    assert.deepEqual(rs.map((r) => r.errorCode), ['ETCD_ERR_KV_KEY_NOT_FOUND', 'ETCD_ERR_MVCC_FUTURE_REV', 'ETCD_ERR_LEASE_NOT_FOUND', undefined]);
    assert.deepEqual(rs.map((r) => r.events.length), [0, 0, 0, 1]);
    assert.equal(s(h.get('a').kvs![0]!.value), '1');
    assert.equal(h.get('z').count, 0);
    assert.equal(h.applier.currentRevision(), 3);
    assert.equal(h.applier.appliedIndex(), e4.index);
    await h.close();
  });

  test('an execution-time failure (ignore_value after delete in the same txn) rolls back the whole txn', async () => {
    const h = new Harness();
    h.put('a', '1');
    const { res } = h.txn({ success: [{ requestDeleteRange: { key: b('a') } }, { requestPut: { key: b('a'), ignoreValue: true } }] });
    assert.equal(res.errorCode, 'ETCD_ERR_KV_KEY_NOT_FOUND');
    assert.equal(s(h.get('a').kvs![0]!.value), '1');
    assert.equal(h.applier.currentRevision(), 2);
    h.put('b', '1');
    assert.equal(h.applier.currentRevision(), 3);
    await h.close();
  });

  test('duplicate keys and too many ops (validated upstream) do not crash', async () => {
    const h = new Harness();
    const ops = Array.from({ length: 300 }, () => ({ requestPut: { key: b('d'), value: b('v') } }));
    const { res } = h.txn({ success: ops });
    assert.equal(res.errorCode, undefined);
    assert.equal(h.get('d').kvs![0]!.version, 300);
    await h.close();
  });
});

describe('entries', () => {
  test('idempotent replay of applied indexes; restart keeps state; no-ops and conf changes advance', async () => {
    const h = new Harness();
    const es = [h.entry({ put: { key: b('a'), value: b('1') } }), h.entry({ put: { key: b('b'), value: b('2') } })];
    assert.equal(h.applier.applyEntries(es).length, 2);
    assert.equal(h.applier.applyEntries(es).length, 0);
    assert.equal(h.applier.currentRevision(), 3);
    const noop = { term: 2, index: h.nextIndex++, type: EntryType.Normal, data: new Uint8Array(0) };
    const cc = { term: 2, index: h.nextIndex++, type: EntryType.ConfChange, data: new Uint8Array([1, 2]) };
    const rs = h.applier.applyEntries([...es, noop, cc]);
    assert.deepEqual(rs.map((r) => [r.index, r.kind, r.revision]), [[3, 'noop', 3], [4, 'noop', 3]]);
    await h.reopen();
    assert.equal(h.applier.appliedIndex(), 4);
    assert.equal(h.applier.consistentTerm(), 2);
    assert.equal(h.reader.appliedIndex(), 4);
    assert.equal(h.applier.currentRevision(), 3);
    assert.equal(s(h.get('b').kvs![0]!.value), '2');
    assert.equal(h.applier.applyEntries(es).length, 0);
    assert.throws(() => h.applier.applyEntries([{ term: 2, index: 9, type: EntryType.Normal, data: new Uint8Array(0) }]), /gap/);
    assert.equal(h.applier.appliedIndex(), 4);
    await h.close();
  });

  test('malformed entry data is fatal for its batch: nothing of the batch commits, nothing is skipped', async () => {
    const h = new Harness();
    h.put('a', '1');
    const before = h.applier.appliedIndex();
    const good0 = h.entry({ put: { key: b('z'), value: b('0') } });
    const bad = { term: 1, index: h.nextIndex++, type: EntryType.Normal, data: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]) };
    const good = h.entry({ put: { key: b('b'), value: b('2') } });
    assert.throws(() => h.applier.applyEntries([good0, bad, good]), (e: unknown) => e instanceof ApplyFatalError && /entry \d+: not an InternalRaftRequest/.test(e.message));
    assert.equal(h.applier.appliedIndex(), before, 'the batch did not commit');
    assert.equal(h.applier.currentRevision(), 2);
    assert.equal(h.get('z').count, 0);
    await h.close();
  });

  test('a request type the applier does not handle is answered with an error; later entries apply', async () => {
    const h = new Harness();
    h.put('a', '1');
    const unsupported = h.entry({}); // a request with no operation set (an entry from a newer version)
    const good = h.entry({ put: { key: b('b'), value: b('2') } });
    const rs = h.applier.applyEntries([unsupported, good]);
    assert.equal(rs[0]!.errorCode, ERR_APPLY_UNSUPPORTED);
    assert.equal(rs[1]!.errorCode, undefined);
    assert.equal(h.applier.currentRevision(), 3);
    assert.equal(h.applier.appliedIndex(), good.index);
    await h.close();
  });
});

describe('apply failures never skip an entry', () => {
  test('a throwing hook (a bug) fails the whole batch before it commits; after the cause is gone the same batch applies', async () => {
    let broken = true;
    const h = new Harness({ exists: (id) => { if (id === 13n && broken) throw new TypeError('boom'); return true; } });
    const ok1 = h.entry({ put: { key: b('x'), value: b('1') } });
    const bad = h.entry({ txn: { success: [{ requestPut: { key: b('a'), value: b('1') } }, { requestPut: { key: b('b'), value: b('1'), lease: 13n } }] } });
    const ok2 = h.entry({ put: { key: b('y'), value: b('2'), lease: 1n } });
    const before = h.applier.appliedIndex();
    assert.throws(() => h.applier.applyEntries([ok1, bad, ok2]), (e: unknown) => e instanceof ApplyFatalError && e.message.includes(`entry ${bad.index}`) && e.message.includes('boom'));
    assert.equal(h.applier.appliedIndex(), before);
    assert.equal(h.get('x').count, 0, 'entries before the failing one did not commit either');
    // A restart replays the same entries (deterministic): with the cause gone, all apply.
    broken = false;
    const rs = h.applier.applyEntries([ok1, bad, ok2]);
    assert.deepEqual(rs.map((r) => [r.errorCode, r.revision]), [[undefined, 2], [undefined, 3], [undefined, 4]]);
    assert.equal(h.applier.appliedIndex(), ok2.index);
    await h.close();
  });

  test('an entry whose outcome differs from the revision promised to a client fails the batch before it commits', async () => {
    const h = new Harness();
    h.put('a', '1'); // revision 2
    const e1 = h.entry({ put: { key: b('p'), value: b('1') } });
    const e2 = h.entry({ put: { key: b('q'), value: b('1') } });
    const before = h.applier.appliedIndex();
    assert.throws(
      () => h.applier.applyEntries([e1, e2], new Map([[e1.index, 3], [e2.index, 5]])),
      (e: unknown) => e instanceof ApplyFatalError && e.message === `entry ${e2.index}: answered with revision 5 but applies as revision 4`,
    );
    assert.equal(h.applier.appliedIndex(), before);
    assert.equal(h.get('p').count, 0);
    // Promises that hold: applied as promised.
    const rs = h.applier.applyEntries([e1, e2], new Map([[e1.index, 3], [e2.index, 4]]));
    assert.deepEqual(rs.map((r) => r.revision), [3, 4]);
    // A promise on an entry that fails with an EtcdError is broken too.
    const compact = h.entry({ compaction: { revision: 999 } });
    assert.throws(() => h.applier.applyEntries([compact], new Map([[compact.index, 5]])), /answered with revision 5 but applies as ETCD_ERR_MVCC_FUTURE_REV/);
    await h.close();
  });
});

describe('lease_keys', () => {
  test('follows puts, lease changes, ignore_lease and deletes', async () => {
    const h = new Harness({ exists: () => true });
    const keysOf = (l: bigint) => h.reader.view((v) => [...v.keysOfLease(l)].map((k) => s(k)));
    h.put('a', '1', { lease: 5n }); h.put('b', '1', { lease: 5n }); h.put('c', '1', { lease: 6n });
    assert.deepEqual(keysOf(5n), ['a', 'b']); assert.deepEqual(keysOf(6n), ['c']);
    h.put('a', '2', { lease: 6n });
    h.put('b', '2', { ignoreLease: true });
    h.put('c', '2');
    assert.deepEqual(keysOf(5n), ['b']); assert.deepEqual(keysOf(6n), ['a']);
    h.del('a', 'c');
    assert.deepEqual(keysOf(5n), []); assert.deepEqual(keysOf(6n), []);
    assert.equal(h.backend.leaseKeys.getKeysCount(), 0);
    await h.close();
  });
});

describe('key size limits', () => {
  test('keys up to the LMDB limit work; longer ones are refused without writing', async () => {
    const h = new Harness();
    const ok = Buffer.alloc(1960, 0x61);
    assert.equal(h.apply({ put: { key: ok, value: b('v') } }).errorCode, undefined);
    assert.equal(h.reader.range({ key: ok }).count, 1);
    assert.equal(h.apply({ put: { key: Buffer.alloc(1961, 0x61), value: b('v') } }).errorCode, 'ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
    assert.equal(h.apply({ put: { key: Buffer.alloc(1000, 0), value: b('v') } }).errorCode, 'ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
    const zeros = Buffer.alloc(900, 0);
    assert.equal(h.apply({ put: { key: zeros, value: b('z') } }).errorCode, undefined);
    assert.equal(h.reader.range({ key: zeros }).kvs![0]!.value!.toString(), 'z');
    assert.equal(h.applier.currentRevision(), 3);
    await h.close();
  });
});

describe('batch bounds', () => {
  test('a batch above APPLY_TXN_BYTES_MAX is split into several transactions, results in order', async () => {
    const h = new Harness();
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const es = Array.from({ length: 10 }, (_, i) => h.entry({ put: { key: b(`k${i}`), value: big } }));
    const rs = h.applier.applyEntries(es);
    assert.deepEqual(rs.map((r) => r.index), es.map((e) => e.index));
    assert.deepEqual(rs.map((r) => r.revision), es.map((_, i) => i + 2));
    assert.equal(h.applier.appliedIndex(), es[9]!.index);
    assert.equal(h.get('k', { rangeEnd: b('l'), countOnly: true }).count, 10);
    await h.close();
  });
});
