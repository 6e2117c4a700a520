import { etcdserverpb } from '../../../src/proto/pb.js';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';

/** Entry i: put k<i % 50> = "v<i>" (every 7th: delete it instead). Deterministic. */
export function crashEntry(index: number): Entry {
  const key = Buffer.from(`k${index % 50}`);
  const req = index % 7 === 0
    ? { header: { ID: BigInt(index) }, deleteRange: { key } }
    : { header: { ID: BigInt(index) }, put: { key, value: Buffer.from(`v${index}`) } };
  return { term: 1, index, type: EntryType.Normal, data: etcdserverpb.InternalRaftRequest.encode(req).finish() };
}

/** The live keys after applying entries 1..n. */
export function expectedAfter(n: number): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 1; i <= n; i++) {
    const k = `k${i % 50}`;
    if (i % 7 === 0) m.delete(k);
    else m.set(k, `v${i}`);
  }
  return m;
}
