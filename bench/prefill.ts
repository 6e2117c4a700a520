/**
 * --prefill: writes every key of the key space once, in transactions of PREFILL_TXN_OPS
 * puts, PREFILL_CONCURRENCY at a time, so range and txn workloads read existing keys.
 * Also used by native-bench to load 1,000,000 keys quickly.
 */
import { EtcdConn } from './etcd-client.js';
import { keyBytes, keyText } from './keys.js';

/** etcd's default --max-txn-ops is 128. */
export const PREFILL_TXN_OPS = 100;
export const PREFILL_CONCURRENCY = 8;

export async function prefill(endpoint: string, keySpaceSize: number, keySize: number, valSize: number, onProgress?: (n: number) => void): Promise<void> {
  const conn = new EtcdConn(endpoint, 60_000);
  const value = Buffer.alloc(valSize, 0x76);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keySpaceSize) {
      const start = next;
      const end = Math.min(keySpaceSize, start + PREFILL_TXN_OPS);
      next = end;
      const success = [];
      for (let k = start; k < end; k++) success.push({ requestPut: { key: keyBytes(k, keySize), value } });
      await conn.txn({ success });
      onProgress?.(end);
    }
  };
  try {
    await Promise.all(Array.from({ length: PREFILL_CONCURRENCY }, worker));
  } finally {
    conn.close();
  }
}

/**
 * The current mod_revision of every key of the key space (0 where absent), read with one
 * keys-only range, so txn-put starts as Kubernetes does: knowing each object's revision.
 * Keys of another width that sort inside the range are skipped.
 */
export async function loadModRevisions(endpoint: string, keySpaceSize: number, keySize: number): Promise<Float64Array> {
  const revs = new Float64Array(keySpaceSize);
  const conn = new EtcdConn(endpoint, 60_000);
  try {
    const r = await conn.range({ key: keyBytes(0, keySize), rangeEnd: keyBytes(keySpaceSize, keySize), keysOnly: true });
    for (const kv of r.kvs) {
      const k = Buffer.from(kv.key!).toString('latin1');
      const i = Number(k);
      if (k.length === keyText(i, keySize).length && Number.isInteger(i) && i < keySpaceSize) revs[i] = kv.modRevision ?? 0;
    }
  } finally {
    conn.close();
  }
  return revs;
}
