/**
 * A piscina task (src/server/read-pool.ts): one Range over a read-only LMDB handle,
 * answered as encoded bytes so nothing is re-encoded on the main thread.
 * Errors come back as their EtcdError code (structured clone drops the class).
 */
import { etcdserverpb } from '../proto/pb.js';
import { LmdbBackend } from '../backend/backend.js';
import { LmdbKvReader } from '../mvcc/kvstore.js';
import { EtcdError } from '../errors/errors.js';

export interface RangeTask {
  readonly dbPath: string;
  /** An encoded etcdserverpb.RangeRequest. */
  readonly request: Uint8Array;
}

export type RangeTaskResult =
  | { readonly response: Uint8Array; readonly revision: number }
  | { readonly errorCode: string };

const readers = new Map<string, LmdbKvReader>();

export default function range(task: RangeTask): RangeTaskResult {
  let reader = readers.get(task.dbPath);
  if (reader === undefined) {
    reader = new LmdbKvReader(LmdbBackend.open({ path: task.dbPath, writable: false }));
    readers.set(task.dbPath, reader);
  }
  try {
    const res = reader.range(etcdserverpb.RangeRequest.decode(task.request));
    return { response: etcdserverpb.RangeResponse.encode(res).finish(), revision: Number(res.header?.revision ?? 0) };
  } catch (err) {
    if (err instanceof EtcdError) return { errorCode: err.code };
    throw err;
  }
}
