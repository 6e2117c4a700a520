/** Test worker: a read-only handle in another thread checks snapshot consistency. */
import { parentPort, workerData } from 'node:worker_threads';
import { LmdbBackend } from '../../../src/backend/backend.js';
import { LmdbKvReader } from '../../../src/mvcc/kvstore.js';

const backend = LmdbBackend.open({ path: (workerData as { path: string }).path, writable: false });
const reader = new LmdbKvReader(backend);
let reads = 0;
let violations = 0;
parentPort!.on('message', (msg: { appliedAtLeast: number } | 'stop') => {
  if (msg === 'stop') {
    parentPort!.postMessage({ reads, violations });
    void backend.close();
    return;
  }
  // Linearizable-read shape: the writer says "applied >= N"; a fresh read must see it.
  const seen = reader.view((v) => {
    const r = v.rangeKeys(Buffer.from('pair/'), Buffer.from('pair0'), {});
    const vals = r.kvs.map((kv) => Buffer.from(kv.value).toString());
    if (vals.length === 2 && vals[0] !== vals[1]) violations++;
    return Number(vals[0] ?? 0);
  });
  reads++;
  if (seen < msg.appliedAtLeast) violations++;
  parentPort!.postMessage({ ack: true });
});
