/**
 * HashKV: a CRC-32C over the MVCC state up to a revision, for the maintenance API and
 * corruption checks between members. It must not depend on how far physical compaction
 * has got, so it covers (as etcd's does) what compaction at C keeps:
 *
 *   crc32c("key")                                          (etcd's bucket name, as a seed)
 *   ++ for each key live at C, in key order: Revision ++ KvRecord
 *   ++ for each revision in (C, rev], in revision order: Revision ++ KvRecord
 *
 * where C is the compacted revision. Equal histories give equal hashes on every member.
 * It is not byte-compatible with etcd's hash (the record format differs).
 */
import { crc32c } from '@node-rs/crc32';
import { EtcdError } from '../errors/errors.js';
import type { LmdbReadView } from './kvstore.js';
import { encodeRevision, readU64 } from './revision.js';

export interface KvHash {
  readonly hash: number;
  /** The revision hashed up to. */
  readonly hashRevision: number;
  readonly compactRevision: number;
}

export function hashKv(view: LmdbReadView, revision: number): KvHash {
  if (revision > view.rev) throw new EtcdError('ETCD_ERR_MVCC_FUTURE_REV');
  const rev = revision <= 0 ? view.rev : revision;
  const c = view.compactedRev;
  if (rev < c) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
  let h = crc32c(Buffer.from('key'));
  if (c > 0) {
    for (const { key, head } of view.heads(new Uint8Array(0), new Uint8Array([0]))) {
      const e = view.visible(key, head, c);
      if (e === undefined) continue;
      h = crc32c(encodeRevision(e.modRevision, e.sub), h);
      h = crc32c(view.record(e), h);
    }
  }
  for (const { key, value } of view.backend.rev.getRange({ ...view.opts, start: encodeRevision(c + 1, 0) })) {
    if (readU64(key, 0) > rev) break;
    h = crc32c(key, h);
    h = crc32c(value, h);
  }
  return { hash: h >>> 0, hashRevision: rev, compactRevision: c };
}
