// Sequential puts for 4 s on one endpoint; `etcdctl defrag` starts at 1 s. Prints put latency
// percentiles over the whole window and the longest put, and how long defrag took.
import grpc from '@grpc/grpc-js';
import { etcdserverpb } from '../../dist/src/proto/pb.js';
import { spawn } from 'node:child_process';
const endpoint = process.argv[2];
const c = new grpc.Client(endpoint, grpc.credentials.createInsecure());
const value = Buffer.alloc(256, 0x62);
const put = (i) => new Promise((res, rej) => c.makeUnaryRequest('/etcdserverpb.KV/Put', (b) => b, (b) => b,
  Buffer.from(etcdserverpb.PutRequest.encode({ key: Buffer.from(`lat${i % 1000}`), value }).finish()), (e) => e ? rej(e) : res()));
const lat = [];
const t0 = performance.now();
let defragMs = -1;
setTimeout(() => {
  const s = performance.now();
  const p = spawn('etcdctl', [`--endpoints=${endpoint}`, 'defrag'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'ignore' });
  p.on('exit', () => { defragMs = performance.now() - s; });
}, 1000);
for (let i = 0; performance.now() - t0 < 4000; i++) { const s = performance.now(); await put(i); lat.push(performance.now() - s); }
while (defragMs < 0) await new Promise((r) => setTimeout(r, 50));
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
console.log(`${endpoint}: ${lat.length} puts, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lat[lat.length - 1].toFixed(1)} ms; defrag took ${defragMs.toFixed(0)} ms`);
c.close();
