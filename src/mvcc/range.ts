/**
 * etcd's Range request semantics over a ReadView (etcd: server/etcdserver/txn/range.go):
 *
 * - with a sort order other than "none / ascend by key" or any min/max revision filter,
 *   every matching key is fetched, filtered, sorted, then cut to `limit`;
 *   otherwise limit + 1 keys are fetched to know `more`;
 * - `count` is the number of live keys in the range at the revision, before filters;
 * - sort order NONE with a target other than KEY means ASCEND; ASCEND by KEY is the scan order;
 * - keys_only drops values after sorting (sorting by VALUE still sees them);
 * - header.revision is the store revision, not the requested one.
 */
import { etcdserverpb } from '../proto/pb.js';
import type { KeyValue, ReadView } from './kv.js';
import { int } from './revision.js';

const SortOrder = etcdserverpb.RangeRequest.SortOrder;
const SortTarget = etcdserverpb.RangeRequest.SortTarget;
const EMPTY = new Uint8Array(0);

type Cmp = (a: KeyValue, b: KeyValue) => number;

function comparator(target: etcdserverpb.RangeRequest.SortTarget): Cmp {
  switch (target) {
    case SortTarget.VERSION: return (a, b) => a.version - b.version;
    case SortTarget.CREATE: return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.MOD: return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.VALUE: return (a, b) => Buffer.compare(a.value, b.value);
    case SortTarget.KEY:
    default: return (a, b) => Buffer.compare(a.key, b.key);
  }
}

export function rangeRequest(view: ReadView, r: etcdserverpb.RangeRequest.$Properties): etcdserverpb.RangeResponse.$Properties {
  const key = r.key ?? EMPTY;
  const end = r.rangeEnd ?? EMPTY;
  const reqLimit = Math.max(0, int(r.limit));
  const minMod = int(r.minModRevision);
  const maxMod = int(r.maxModRevision);
  const minCreate = int(r.minCreateRevision);
  const maxCreate = int(r.maxCreateRevision);
  const target = r.sortTarget ?? SortTarget.KEY;
  let order = r.sortOrder ?? SortOrder.NONE;
  const filtered = minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0;

  const fetchAll = order !== SortOrder.NONE || filtered;
  const limit = fetchAll || reqLimit === 0 ? 0 : reqLimit + 1;
  const needValues = !r.keysOnly || target === SortTarget.VALUE;
  const rr = view.rangeKeys(key, end, {
    limit, rev: int(r.revision), countOnly: r.countOnly === true, noValues: !needValues,
  });
  let kvs = rr.kvs;
  if (r.countOnly) return { header: { revision: rr.rev }, kvs: [], more: false, count: rr.count };

  if (filtered) {
    kvs = kvs.filter((kv) =>
      !(maxMod !== 0 && kv.modRevision > maxMod) &&
      !(minMod !== 0 && kv.modRevision < minMod) &&
      !(maxCreate !== 0 && kv.createRevision > maxCreate) &&
      !(minCreate !== 0 && kv.createRevision < minCreate));
  }

  if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  else if (target === SortTarget.KEY && order === SortOrder.ASCEND) order = SortOrder.NONE;
  if (order === SortOrder.ASCEND || order === SortOrder.DESCEND) {
    const cmp = comparator(target);
    // Stable: ties stay in key order.
    kvs.sort(order === SortOrder.ASCEND ? cmp : (a, b) => cmp(b, a));
  }

  let more = false;
  if (reqLimit > 0 && kvs.length > reqLimit) {
    kvs = kvs.slice(0, reqLimit);
    more = true;
  }
  if (r.keysOnly) for (const kv of kvs) kv.value = EMPTY;
  return { header: { revision: rr.rev }, kvs, more, count: rr.count };
}
