/**
 * The independent client used to validate the generator: the `etcd3` npm client in a
 * closed loop (`clients` concurrent loops, one channel), run as its own process exactly
 * as the generator is, printing one JSON line { throughput }. It shares nothing with
 * bench/ but the key format.
 *
 *   node dist/native-bench/etcd3-loop.js <endpoint> <put|range-l|range-s> <clients> <durationS> <keySpace>
 */
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { keyText } from '../bench/keys.js';

async function main(): Promise<void> {
  const [endpoint, op, clientsArg, durationArg, keySpaceArg] = process.argv.slice(2);
  const clients = Number(clientsArg);
  const durationMs = Number(durationArg) * 1000;
  const keySpace = Number(keySpaceArg);
  const client = new Etcd3({ hosts: endpoint! });
  const value = Buffer.alloc(256, 0x76);
  await client.get('warm-up').string();
  let seed = 12345;
  const nextKey = (): string => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return keyText(seed % keySpace, 8);
  };
  let done = 0;
  const t0 = performance.now();
  const loop = async (): Promise<void> => {
    while (performance.now() - t0 < durationMs) {
      const key = nextKey();
      if (op === 'put') await client.put(key).value(value).exec();
      else await client.get(key).serializable(op === 'range-s').exec();
      done++;
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsedMs = performance.now() - t0;
  client.close();
  console.log(JSON.stringify({ throughput: (done * 1000) / elapsedMs, count: done }));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
