/**
 * Micro benchmark of the protobuf codecs on the hot Put/Range path (numbers only, never
 * pass/fail): encode and decode per second of
 *   - InternalRaftRequest { header.ID, put }      (proposal encode; apply decode)
 *   - PutRequest                                  (server decode of a client request)
 *   - ResponseHeader { cluster_id, member_id, revision, raft_term }  (every answer)
 *   - RangeResponse with 10 kvs                   (read path encode; client decode)
 * The ID fields are bigint since decision 0003; the script also runs against a build
 * where they are numbers (it picks the representation from the generated defaults), so
 * before/after numbers come from the same file.
 *
 *   node dist/bench/micro/pb.bench.js [--iters N] [--rounds R]
 */
import { etcdserverpb } from '../../src/proto/pb.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const ITERS = Number(arg('--iters', '300000'));
const ROUNDS = Number(arg('--rounds', '5'));

const BIG = typeof (etcdserverpb.ResponseHeader.prototype as unknown as Record<string, unknown>)['memberId'] === 'bigint';
/** An ID in the representation of the build under test (number builds cannot hold 64 bits). */
const id = (v: bigint): any => (BIG ? v : Number(v & ((1n << 52n) - 1n)));

const MEMBER = id(0x8e9e05c52164694dn);
const CLUSTER = id(0xcdf818194e3a8c32n);
const header = { clusterId: CLUSTER, memberId: MEMBER, revision: 123456, raftTerm: 3 };
const key = Buffer.from('/registry/pods/default/pod-1234');
const value = Buffer.alloc(256, 0x61);

const put = { key, value };
const putBytes = etcdserverpb.PutRequest.encode(put).finish();
const irr = { header: { ID: id(0x694d_0191_2345_6789n) }, put };
const irrBytes = etcdserverpb.InternalRaftRequest.encode(irr).finish();
const headerBytes = etcdserverpb.ResponseHeader.encode(header).finish();
const kvs = Array.from({ length: 10 }, (_, i) => ({ key: Buffer.from(`/registry/pods/default/pod-${i}`), value, createRevision: 100 + i, modRevision: 200 + i, version: 3 }));
const range = { header, kvs, count: 10 };
const rangeBytes = etcdserverpb.RangeResponse.encode(range).finish();

const cases: Record<string, () => unknown> = {
  irr_encode: () => etcdserverpb.InternalRaftRequest.encode(irr).finish(),
  irr_decode: () => etcdserverpb.InternalRaftRequest.decode(irrBytes),
  put_request_decode: () => etcdserverpb.PutRequest.decode(putBytes),
  header_encode: () => etcdserverpb.ResponseHeader.encode(header).finish(),
  header_decode: () => etcdserverpb.ResponseHeader.decode(headerBytes),
  range10_encode: () => etcdserverpb.RangeResponse.encode(range).finish(),
  range10_decode: () => etcdserverpb.RangeResponse.decode(rangeBytes),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

let sink: unknown;
const results: Record<string, number> = {};
for (const [name, fn] of Object.entries(cases)) {
  for (let i = 0; i < 20000; i++) sink = fn(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const iters = name.startsWith('range') ? ITERS / 10 : ITERS;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) sink = fn();
    rates.push(iters / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  results[`${name}_per_s`] = Math.round(median(rates));
  results[`${name}_ns`] = Math.round(1e9 / median(rates));
}
if (sink === undefined) console.log('');
console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, ids: BIG ? 'bigint' : 'number', iters: ITERS, rounds: ROUNDS, results }, null, 2));
