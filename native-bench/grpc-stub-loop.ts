/**
 * A second independent client for validating the generator, as lean as a Node client
 * gets: service stubs made by @grpc/proto-loader from proto/ at run time (no generated
 * code, none of bench/), `clients` closed loops over one channel, in its own process,
 * printing one JSON line { throughput }. Under CPU contention a heavier client (the etcd3
 * package adds builders, retries and promise layers per call) is slower by its own cost;
 * this one isolates what the generator itself adds.
 *
 *   node dist/native-bench/grpc-stub-loop.js <endpoint> <put|range-l|range-s> <clients> <durationS> <keySpace>
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

async function main(): Promise<void> {
  const [endpoint, op, clientsArg, durationArg, keySpaceArg] = process.argv.slice(2);
  const clients = Number(clientsArg);
  const durationMs = Number(durationArg) * 1000;
  const keySpace = Number(keySpaceArg);
  const def = protoLoader.loadSync('etcdserverpb/rpc.proto', { includeDirs: [PROTO_DIR], longs: Number, defaults: false });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: { KV: new (addr: string, creds: grpc.ChannelCredentials) => Record<string, Unary> & grpc.Client } };
  const kv = new pkg.etcdserverpb.KV(endpoint!, grpc.credentials.createInsecure());
  const call = (method: string, req: object): Promise<unknown> =>
    new Promise((resolve, reject) => kv[method]!.call(kv, req, (err, res) => (err ? reject(err) : resolve(res))));
  const value = Buffer.alloc(256, 0x76);
  await call('Range', { key: Buffer.from('warm-up') });
  let x = 987654321;
  const nextKey = (): Buffer => {
    x = (x * 48271) % 2147483647;
    return Buffer.from(String(x % keySpace).padStart(8, '0'));
  };
  let done = 0;
  const t0 = performance.now();
  const loop = async (): Promise<void> => {
    while (performance.now() - t0 < durationMs) {
      if (op === 'put') await call('Put', { key: nextKey(), value });
      else await call('Range', { key: nextKey(), serializable: op === 'range-s' });
      done++;
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  const elapsedMs = performance.now() - t0;
  kv.close();
  console.log(JSON.stringify({ throughput: (done * 1000) / elapsedMs, count: done }));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
