/**
 * MVCC against a simple model: Map<key, revision list>. Random sequences of put, delete
 * range, txn, compact (with physical slices interleaved) and range-at-revision.
 * Reproduce a failure with FC_SEED=<seed printed by fast-check> (and FC_PATH=<path>);
 * FC_RUNS and FC_MAXLEN scale the search.
 */
import '../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { EtcdError } from '../../../src/errors/errors.js';
import { Harness, b, s } from '../apply/helpers.js';

/** No lease, small ones, and int64 lease IDs beyond 2^53 (including the top and a negative one). */
const LEASES: readonly bigint[] = [0n, 1n, 2n, 0x694d_7a1c_2e3f_4b05n, (1n << 63n) - 1n, -2n];

interface Ver { rev: number; value: string; create: number; version: number; tomb: boolean; lease: bigint }

class Model {
  hist = new Map<string, Ver[]>();
  cur = 1;
  compacted = 0;

  at(key: string, rev: number): Ver | undefined {
    const h = this.hist.get(key) ?? [];
    let v: Ver | undefined;
    for (const e of h) if (e.rev <= rev) v = e;
    return v && !v.tomb ? v : undefined;
  }
  range(start: string, end: string | null, rev: number): Array<[string, Ver]> {
    const keys = [...this.hist.keys()].filter((k) => end === null ? k === start : Buffer.compare(b(k), b(start)) >= 0 && (end === '\0' || Buffer.compare(b(k), b(end)) < 0));
    keys.sort((x, y) => Buffer.compare(b(x), b(y)));
    return keys.flatMap((k) => { const v = this.at(k, rev); return v ? [[k, v] as [string, Ver]] : []; });
  }
  write(rev: number, key: string, value: string | null, lease = 0n): void {
    const h = this.hist.get(key) ?? [];
    const last = h[h.length - 1];
    const live = last !== undefined && !last.tomb;
    if (value === null) h.push({ rev, value: '', create: 0, version: 0, tomb: true, lease: 0n });
    else h.push({ rev, value, create: live ? last.create : rev, version: live ? last.version + 1 : 1, tomb: false, lease });
    this.hist.set(key, h);
  }
}

const KEYS = ['a', 'ab', 'a\0', 'a\0b', 'b', '\0', 'c', 'cc'];
const key = fc.constantFrom(...KEYS);
const end = fc.oneof(fc.constant(null), fc.constant('\0'), key);
const value = fc.string({ maxLength: 4 });

type Op =
  | { t: 'put'; k: string; v: string; l: bigint }
  | { t: 'del'; k: string; e: string | null }
  | { t: 'txn'; ck: string; cv: number; pk: string; v: string; dk: string }
  | { t: 'compact'; back: number; steps: number }
  | { t: 'read'; k: string; e: string | null; back: number; limit: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('put' as const), k: key, v: value, l: fc.constantFrom(...LEASES) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), k: key, e: end }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('txn' as const), ck: key, cv: fc.nat(3), pk: key, v: value, dk: key }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), back: fc.nat(6), steps: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('read' as const), k: key, e: end, back: fc.nat(8), limit: fc.nat(3) }) },
);

function check(h: Harness, m: Model, k: string, e: string | null, rev: number, limit: number): void {
  const req = { key: b(k), ...(e === null ? {} : { rangeEnd: b(e) }), revision: rev, limit };
  if (rev !== 0 && rev < m.compacted) {
    assert.throws(() => h.reader.range(req), (x: unknown) => x instanceof EtcdError && x.code === 'ETCD_ERR_MVCC_COMPACTED');
    return;
  }
  const want = m.range(k, e, rev === 0 ? m.cur : rev);
  const got = h.reader.range(req);
  assert.equal(got.count, want.length, 'count');
  assert.equal(h.reader.range({ ...req, countOnly: true }).count, want.length, 'count only');
  assert.equal(got.header!.revision, m.cur);
  const cut = limit > 0 ? want.slice(0, limit) : want;
  assert.equal(got.more, limit > 0 && want.length > limit);
  assert.deepEqual(got.kvs!.map((kv) => [s(kv.key), s(kv.value), kv.createRevision, kv.modRevision, kv.version, kv.lease]),
    cut.map(([kk, v]) => [kk, v.value, v.create, v.rev, v.version, v.lease]));
}

function run(ops: Op[]): void {
  const h = new Harness({ exists: () => true });
  const m = new Model();
  try {
    for (const o of ops) {
      if (o.t === 'put') {
        h.put(o.k, o.v, { lease: o.l });
        m.write(++m.cur, o.k, o.v, o.l);
      } else if (o.t === 'del') {
        const live = m.range(o.k, o.e, m.cur);
        const d = h.del(o.k, o.e ?? undefined);
        assert.equal(Number(d.deleted), live.length);
        if (live.length > 0) { m.cur++; for (const [kk] of live) m.write(m.cur, kk, null); }
      } else if (o.t === 'txn') {
        const ok = (m.at(o.ck, m.cur)?.version ?? 0) === o.cv;
        const { resp } = h.txn({
          compare: [{ key: b(o.ck), target: etcdserverpb.Compare.CompareTarget.VERSION, result: etcdserverpb.Compare.CompareResult.EQUAL, version: o.cv }],
          success: [{ requestPut: { key: b(o.pk), value: b(o.v) } }, { requestDeleteRange: { key: b(o.dk) } }],
          failure: [{ requestRange: { key: b(o.pk) } }],
        });
        assert.equal(resp!.succeeded, ok);
        if (ok) {
          const rev = ++m.cur;
          m.write(rev, o.pk, o.v);
          if (m.at(o.dk, rev)) m.write(rev, o.dk, null);
        }
      } else if (o.t === 'compact') {
        const rev = Math.max(1, m.cur - o.back);
        const r = h.compact(rev);
        if (rev <= m.compacted) assert.equal(r.errorCode, 'ETCD_ERR_MVCC_COMPACTED');
        else { assert.equal(r.errorCode, undefined); m.compacted = rev; }
        for (let i = 0; i < o.steps; i++) h.applier.compactStep(2);
      } else {
        check(h, m, o.k, o.e, o.back === 0 ? 0 : Math.max(1, m.cur - o.back + 1), o.limit);
      }
      assert.equal(h.applier.currentRevision(), m.cur);
    }
    // Every key at every readable revision, then again after compaction finishes.
    const verifyAll = () => { for (let r = Math.max(1, m.compacted); r <= m.cur; r++) check(h, m, '\0', '\0', r, 0); };
    verifyAll();
    h.applier.compactor.runToCompletion(3);
    verifyAll();
    for (const l of LEASES.filter((x) => x !== 0n)) {
      const want = m.range('\0', '\0', m.cur).filter(([, v]) => v.lease === l).map(([k]) => k);
      assert.deepEqual(h.reader.view((v) => [...v.keysOfLease(l)].map((k) => s(k))), want, `keys of lease ${l}`);
    }
  } finally {
    void h.close();
  }
}

test('mvcc matches the model', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: Number(process.env.FC_MAXLEN ?? 60) }), run), {
    numRuns: Number(process.env.FC_RUNS ?? 150),
  });
});
