/**
 * --prefill: writes every key of the key space once, in transactions of PREFILL_TXN_OPS
 * puts, PREFILL_CONCURRENCY at a time, so range and txn workloads read existing keys.
 * Also used by native-bench to load 1,000,000 keys quickly.
 */
import { EtcdConn } from './etcd-client.js';
import { keyBytes } from './keys.js';

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
