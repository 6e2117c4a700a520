/**
 * The independent client used to validate the generator: the `etcd3` npm client in a
 * closed loop (`clients` concurrent loops, one process, one channel), counting
 * requests per second. It shares nothing with bench/ but the key format.
 */
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { keyText } from '../bench/keys.js';

export interface IndependentRun {
  op: 'put' | 'range-l' | 'range-s';
  clients: number;
  total: number;
  keySpace: number;
}

export async function runEtcd3(endpoint: string, run: IndependentRun): Promise<number> {
  const client = new Etcd3({ hosts: endpoint });
  const value = Buffer.alloc(256, 0x76);
  try {
    await client.get('warm-up').string();
    let issued = 0;
    let seed = 12345;
    const nextKey = (): string => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return keyText(seed % run.keySpace, 8);
    };
    const loop = async (): Promise<void> => {
      while (issued < run.total) {
        issued++;
        const key = nextKey();
        if (run.op === 'put') await client.put(key).value(value).exec();
        else await client.get(key).serializable(run.op === 'range-s').exec();
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: run.clients }, loop));
    return (run.total * 1000) / (performance.now() - t0);
  } finally {
    client.close();
  }
}
