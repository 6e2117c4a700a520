/**
 * Micro benchmark of the client-facing gRPC transports: calls/s and server CPU per call
 * (process.cpuUsage in the server process) for a trivial etcdserverpb.KV/Put handler,
 * with grpc-js clients as the load (the Go-free load loop), at 1 client / 1 connection
 * and 100 clients / 10 connections. Rounds alternate transports (A B A B) because shared
 * machines are noisy; compare medians side by side.
 *
 *   node dist/bench/micro/grpc.bench.js [--seconds 5] [--rounds 2] [--impl http2,grpcjs] [--raw-client] [--shared-port]
 *   CONNECT_EVAL_DIR=/tmp/connect-eval ... --impl http2,connect   (decision 0002 only)
 *
 * The server runs in a child process so its CPU is measured alone; the client shares the
 * machine's cores, so calls/s is capped by the client at high concurrency.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import { etcdserverpb } from '../../src/proto/pb.js';
import { GrpcJsTransport } from '../../src/api/grpc/grpc-js-transport.js';
import { Http2GrpcTransport } from '../../src/api/grpc/http2-transport.js';
import type { GrpcTransport } from '../../src/api/grpc/types.js';
import { ClientListener } from '../../src/api/grpc/client-listener.js';

/** 'floor' is not a transport: the least a node:http2 server can do per gRPC call (fixed answer, no parsing), for scale. */
type Impl = 'http2' | 'grpcjs' | 'connect' | 'floor';

const PUT_PATH = '/etcdserverpb.KV/Put';
/** Load loop: 'grpcjs' (a real gRPC client) or 'raw' (hand-written gRPC on node:http2, cheaper, so the server saturates). */
const CLIENT = process.argv.includes('--raw-client') ? 'raw' : 'grpcjs';
/** Serve through the shared-port listener (peek, then hand over) instead of the transport's own port. */
const SHARED_PORT = process.argv.includes('--shared-port');

function args(): { seconds: number; rounds: number; impls: Impl[] } {
  const a = process.argv.slice(2);
  const get = (name: string, dflt: string): string => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 && a[i + 1] !== undefined ? a[i + 1]! : dflt;
  };
  return {
    seconds: Number(get('seconds', '5')),
    rounds: Number(get('rounds', '2')),
    impls: get('impl', 'http2,grpcjs').split(',') as Impl[],
  };
}

// ---- server side (child process) ----

async function runServer(impl: Impl): Promise<void> {
  let port: number;
  let rev = 1;
  if (impl === 'floor') {
    const frame = Buffer.from([0, 0, 0, 0, 0]);
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('data', () => {});
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as import('node:net').AddressInfo).port;
  } else if (impl === 'connect') {
    const dir = process.env['CONNECT_EVAL_DIR'];
    if (dir === undefined) throw new Error('set CONNECT_EVAL_DIR to the scratch dir with connect-server.mjs');
    const mod = (await import(`${dir}/connect-server.mjs`)) as { start(p: number): Promise<import('node:net').Server> };
    const server = await mod.start(0);
    port = (server.address() as import('node:net').AddressInfo).port;
  } else {
    const t: GrpcTransport & { listen(p: number, h?: string): Promise<{ port: number }> } =
      impl === 'http2' ? new Http2GrpcTransport() : new GrpcJsTransport();
    t.addUnary<etcdserverpb.PutRequest, etcdserverpb.IPutResponse>({
      path: PUT_PATH,
      decode: (b) => etcdserverpb.PutRequest.decode(b),
      encode: (r) => etcdserverpb.PutResponse.encode(r).finish(),
      handler: (req) => ({ header: { clusterId: 0xcdf818194e3a8c32n, memberId: 0x8e9e05c52164694dn, revision: (rev += req.key.length > 0 ? 1 : 0), raftTerm: 3 } }),
    });
    if (SHARED_PORT) {
      const listener = new ClientListener({ grpc: t, http: (_req, res) => void res.end() });
      port = (await listener.listen(0)).port;
    } else {
      port = (await t.listen(0)).port;
    }
  }
  let start = process.cpuUsage();
  process.on('message', (m: string) => {
    if (m === 'start') start = process.cpuUsage();
    else if (m === 'stop') {
      const d = process.cpuUsage(start);
      process.send!({ cpuUs: d.user + d.system });
    } else if (m === 'exit') process.exit(0);
  });
  process.send!({ port });
}

// ---- client side (parent) ----

const putBytes = Buffer.from(
  etcdserverpb.PutRequest.encode({ key: Buffer.from('key00001'), value: Buffer.alloc(256, 0x61) }).finish(),
);

/** The lighter load loop: gRPC requests written by hand on node:http2 client sessions. */
async function loadRaw(port: number, clients: number, conns: number, seconds: number): Promise<number> {
  const sessions = Array.from({ length: conns }, () => http2.connect(`http://127.0.0.1:${port}`));
  const frame = Buffer.alloc(5 + putBytes.length);
  frame.writeUInt32BE(putBytes.length, 1);
  putBytes.copy(frame, 5);
  const headers = { ':method': 'POST', ':path': PUT_PATH, 'content-type': 'application/grpc', te: 'trailers' };
  const call = (s: http2.ClientHttp2Session): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = s.request(headers, { endStream: false });
      let status: string | undefined;
      req.on('response', (h) => (status = h['grpc-status'] as string | undefined ?? status));
      req.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
      req.on('data', () => {});
      req.on('error', reject);
      req.on('close', () => (status === '0' ? resolve() : reject(new Error(`grpc-status ${status}`))));
      req.end(frame);
    });
  await Promise.all(sessions.map((s) => call(s)));
  let stop = false;
  let count = 0;
  const loops = Array.from({ length: clients }, async (_, i) => {
    const s = sessions[i % conns]!;
    while (!stop) {
      await call(s);
      count++;
    }
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  await Promise.all(loops);
  for (const s of sessions) s.close();
  return count;
}

async function load(port: number, clients: number, conns: number, seconds: number): Promise<number> {
  if (CLIENT === 'raw') return loadRaw(port, clients, conns, seconds);
  const channels = Array.from(
    { length: conns },
    () => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  const call = (c: grpc.Client): Promise<void> =>
    new Promise((resolve, reject) =>
      c.makeUnaryRequest(PUT_PATH, (b: Buffer) => b, (b: Buffer) => b, putBytes, (err) => (err ? reject(err) : resolve())),
    );
  // warm up: open every connection
  await Promise.all(channels.map((c) => call(c)));
  let stop = false;
  let count = 0;
  const loops = Array.from({ length: clients }, async (_, i) => {
    const c = channels[i % conns]!;
    while (!stop) {
      await call(c);
      count++;
    }
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  await Promise.all(loops);
  for (const c of channels) c.close();
  return count;
}

async function measure(impl: Impl, clients: number, conns: number, seconds: number): Promise<{ perSec: number; cpuUsPerCall: number }> {
  const child: ChildProcess = fork(process.argv[1]!, ['--server', impl, ...(SHARED_PORT ? ['--shared-port'] : [])], { execArgv: (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = (await once(child, 'message')) as [{ port: number }];
  // warm-up round (JIT), not measured
  await load(ready.port, clients, conns, 1);
  child.send('start');
  const t0 = process.hrtime.bigint();
  const n = await load(ready.port, clients, conns, seconds);
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  child.send('stop');
  const [usage] = (await once(child, 'message')) as [{ cpuUs: number }];
  child.send('exit');
  await once(child, 'exit');
  return { perSec: n / elapsedS, cpuUsPerCall: usage.cpuUs / n };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const { seconds, rounds, impls } = args();
  const scenarios: Array<[number, number]> = [
    [1, 1],
    [100, 10],
  ];
  const results: Record<string, { perSec: number[]; cpu: number[] }> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [clients, conns] of scenarios) {
      for (const impl of impls) {
        const key = `${impl} ${clients}/${conns}`;
        const m = await measure(impl, clients, conns, seconds);
        (results[key] ??= { perSec: [], cpu: [] }).perSec.push(m.perSec);
        results[key].cpu.push(m.cpuUsPerCall);
        console.log(`round ${r + 1} ${key.padEnd(18)} ${m.perSec.toFixed(0).padStart(7)} calls/s  ${m.cpuUsPerCall.toFixed(1).padStart(6)} us server CPU/call`);
      }
    }
  }
  console.log(`\nmedians (${new Date().toISOString()}, node ${process.version}, ${CLIENT} client${SHARED_PORT ? ', shared port' : ''}, ${seconds}s x ${rounds} rounds)`);
  const summary = Object.entries(results).map(([k, v]) => ({ impl: k, callsPerSec: Math.round(median(v.perSec)), serverCpuUsPerCall: +median(v.cpu).toFixed(1) }));
  console.table(summary);
  console.log(JSON.stringify(summary));
}

if (process.argv[2] === '--server') {
  void runServer(process.argv[3] as Impl);
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
