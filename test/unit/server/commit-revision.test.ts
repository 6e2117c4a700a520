import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { CommittedRevisions, scanEntry } from '../../../src/server/commit-revision.js';
import { isPlainPut } from '../../../src/server/revision-predictor.js';

const enc = (r: etcdserverpb.IInternalRaftRequest): Uint8Array => etcdserverpb.InternalRaftRequest.encode(r).finish();

test('scanEntry: a plain put, its request ID (full 64 bits)', () => {
  const id = 0xfedcba9876543210n;
  const s = scanEntry(enc({ header: { ID: id }, put: { key: Buffer.from('k'), value: Buffer.from('v') } }));
  assert.deepEqual(s, { id, plainPut: true });
});

test('scanEntry: puts with options, a user name, other requests, no request are not plain', () => {
  const key = Buffer.from('k');
  const cases: [string, etcdserverpb.IPutRequest][] = [['lease', { key, lease: 5n }], ['prev_kv', { key, prevKv: true }], ['ignore_value', { key, ignoreValue: true }], ['ignore_lease', { key, ignoreLease: true }]];
  for (const [name, put] of cases) assert.equal(scanEntry(enc({ header: { ID: 1n }, put })).plainPut, false, name);
  assert.equal(scanEntry(enc({ header: { ID: 1n, username: 'alice', authRevision: 3 }, put: { key } })).plainPut, false, 'a caller (auth on)');
  assert.equal(scanEntry(enc({ header: { ID: 1n }, deleteRange: { key } })).plainPut, false);
  assert.equal(scanEntry(enc({ header: { ID: 1n }, txn: { success: [{ requestPut: { key } }] } })).plainPut, false);
  assert.equal(scanEntry(enc({ header: { ID: 2n } })).plainPut, false, 'a header alone');
  assert.equal(scanEntry(new Uint8Array(0)).plainPut, false, 'empty');
});

test('scanEntry: malformed bytes (truncated, over-long varints, lengths past the end) are never plain and never throw', () => {
  const good = enc({ put: { key: Buffer.from('key'), value: Buffer.alloc(300, 1) }, header: { ID: 7n } });
  // Cut anywhere inside the put: not plain. (A cut between the put and the header is a valid
  // message, a plain put without a header.)
  const putEnd = good.length - etcdserverpb.InternalRaftRequest.encode({ header: { ID: 7n } }).finish().length;
  for (let cut = 1; cut < putEnd; cut++) assert.equal(scanEntry(good.subarray(0, cut)).plainPut, false, `cut at ${cut}`);
  for (let cut = putEnd + 1; cut < good.length; cut++) assert.equal(scanEntry(good.subarray(0, cut)).plainPut, false, `cut at ${cut}`);
  assert.deepEqual(scanEntry(good.subarray(0, putEnd)), { id: 0n, plainPut: true });
  assert.equal(scanEntry(new Uint8Array([0x22, 0xff, 0xff, 0xff, 0xff, 0x0f])).plainPut, false, 'a length past the end');
  assert.equal(scanEntry(new Uint8Array([0xa2, 0x06, 0x0b, ...new Array(11).fill(0x80)])).plainPut, false, 'a varint over 10 bytes');
  assert.equal(scanEntry(new Uint8Array([0x27])).plainPut, false, 'wire type 7');
  assert.equal(scanEntry(new Uint8Array([0x22, 0x02, 0x18, 0x01, 0x22, 0x00])).plainPut, false, 'two put fields');
  // An oversized value is still one put.
  assert.equal(scanEntry(enc({ header: { ID: 1n }, put: { key: Buffer.from('k'), value: Buffer.alloc(1 << 20) } })).plainPut, true);
});

test('scanEntry agrees with decoding on random requests (property)', () => {
  const putArb = fc.record({
    key: fc.uint8Array({ minLength: 1, maxLength: 20 }),
    value: fc.uint8Array({ maxLength: 40 }),
    lease: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: (1n << 63n) - 1n })),
    prevKv: fc.boolean(),
    ignoreValue: fc.boolean(),
    ignoreLease: fc.boolean(),
  });
  const reqArb = fc.record({
    id: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    username: fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 8 })),
    put: fc.option(putArb, { nil: undefined }),
    del: fc.boolean(),
  });
  fc.assert(
    fc.property(reqArb, (r) => {
      const req: etcdserverpb.IInternalRaftRequest = { header: { ID: r.id, username: r.username } };
      if (r.put !== undefined) req.put = r.put;
      if (r.del) req.deleteRange = { key: Buffer.from('d') };
      const s = scanEntry(enc(req));
      const decoded = etcdserverpb.InternalRaftRequest.decode(enc(req));
      const expectPlain = decoded.put != null && !r.del && r.username === '' && isPlainPut(decoded.put);
      assert.equal(s.plainPut, expectPlain);
      if (s.plainPut) assert.equal(s.id, r.id);
    }),
    { numRuns: 500 },
  );
});

test('scanEntry reads every 64-bit request ID exactly (group edges and random)', () => {
  const edges = [0n, 1n, 127n, 128n, (1n << 28n) - 1n, 1n << 28n, (1n << 56n) - 1n, 1n << 56n, 1n << 63n, (1n << 64n) - 1n];
  for (const id of edges) assert.equal(scanEntry(enc({ header: { ID: id }, put: { key: Buffer.from('k') } })).id, id, `id ${id}`);
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (id) => {
      assert.equal(scanEntry(enc({ header: { ID: id }, put: { key: Buffer.from('k'), value: Buffer.from('v') } })).id, id);
    }),
    { numRuns: 1000 },
  );
});

test('CommittedRevisions: unknown until the last unknown entry is applied, then counts plain puts', () => {
  const t = new CommittedRevisions(10);
  assert.equal(t.plainPut(11), undefined, 'entry 11: unknown (entry 10 not applied here yet)');
  t.applied(9, 5);
  assert.equal(t.plainPut(12), undefined, 'entry 12');
  t.applied(10, 20); // entries 11, 12 are plain puts committed after it: 21, 22
  assert.equal(t.plainPut(13), 23, 'entry 13');
  t.other(14); // a txn
  assert.equal(t.plainPut(15), undefined, 'entry 15');
  t.applied(13, 23);
  assert.equal(t.plainPut(16), undefined, 'entry 16: 14 not applied');
  t.applied(14, 23); // the txn changed nothing (a failed compare with no else)
  assert.equal(t.plainPut(17), 26, 'entry 17 (15 and 16 are 24 and 25)');
});

test('CommittedRevisions: the unknown entry was applied before the tracker heard of it (a restart): the next applied entry makes it known', () => {
  // Constructed at committed index 8, which the store applied during the replay: no outcome for 8 comes.
  const t = new CommittedRevisions(8);
  assert.equal(t.plainPut(9), undefined);
  assert.equal(t.plainPut(10), undefined);
  assert.equal(t.plainPut(11), undefined);
  t.applied(9, 50); // 10 and 11 not applied yet: 51, 52
  assert.equal(t.plainPut(12), 53);
});

test('CommittedRevisions against a model: every revision it gives is the one the entry applies at (property)', () => {
  // A log of committed entries: plain puts (+1), others with a random effect (0..3 revisions).
  // Commits and applies interleave at random; every answer given must equal the model's.
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }),
      (log, schedule) => {
        // The store starts at revision 1 with entry 0 applied; its outcome is never seen.
        const t = new CommittedRevisions(0);
        const revAfter: number[] = [];
        let rev = 1;
        for (const d of log) revAfter.push((rev += d === -1 ? 1 : d));
        let committed = 0;
        let applied = 0;
        const step = (commit: boolean): void => {
          if (commit && committed < log.length) {
            const d = log[committed]!;
            committed++;
            if (d === -1) {
              const r = t.plainPut(committed);
              if (r !== undefined) assert.equal(r, revAfter[committed - 1], `entry ${committed}`);
            } else {
              t.other(committed);
            }
          } else if (applied < committed) {
            applied++;
            t.applied(applied, revAfter[applied - 1]!);
          }
        };
        for (const s of schedule) step(s);
        while (applied < log.length) step(committed < log.length);
      },
    ),
    { numRuns: 500 },
  );
});
