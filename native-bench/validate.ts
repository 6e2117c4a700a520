/**
 * `npm run bench:native -- --validate`: is the generator right, and is it not the
 * bottleneck? Against one real etcd member, alternating rounds:
 *  1. our generator vs independent clients run the same way (its own process, same op,
 *     clients, one connection, same duration): the Go clientv3 generator
 *     (native-bench/go/bin/etcd-load, when built: the referee, the client etcd's own tools
 *     and Kubernetes use), grpc-stub-loop.ts (proto-loader stubs) and etcd3-loop.ts (the
 *     etcd3 npm client). The median of the per-round ratios must be within
 *     VALIDATE_TOLERANCE of 1 with the referee (the Go generator, else the grpc stubs); the
 *     others are printed for reference;
 *  2. put 100/10 with 1 and with 2 generator threads: more threads must not give
 *     materially more throughput, and the generator's CPU is printed next to the server's.
 */
import { NativeOptions } from './args.js';
import { median } from '../bench/stats.js';
import { prefill } from '../bench/prefill.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBench } from './run-case.js';
import { cpuSeconds } from './procfs.js';
import { Cluster } from './server.js';
import { machineLine } from './machine.js';

/** The generator must agree with the independent client within 15%. */
export const VALIDATE_TOLERANCE = 0.15;

interface IndependentRun {
  op: 'put' | 'range-l' | 'range-s';
  clients: number;
}
const KEY_SPACE = 100_000;
const RUNS: IndependentRun[] = [
  { op: 'put', clients: 1 },
  { op: 'range-s', clients: 1 },
  { op: 'put', clients: 100 },
  { op: 'range-l', clients: 100 },
];
const LOOPS = {
  'grpc stubs': fileURLToPath(new URL('./grpc-stub-loop.js', import.meta.url)),
  'etcd3 client': fileURLToPath(new URL('./etcd3-loop.js', import.meta.url)),
} as const;
/** The Go clientv3 generator (native-bench/go/build.sh); compiled to dist/native-bench, the repository is two up. */
const GO_GEN = fileURLToPath(new URL('../../native-bench/go/bin/etcd-load', import.meta.url));
type LoopName = keyof typeof LOOPS | 'go clientv3';

function loopNames(): LoopName[] {
  return existsSync(GO_GEN) ? ['go clientv3', 'grpc stubs', 'etcd3 client'] : ['grpc stubs', 'etcd3 client'];
}

function benchArgs(r: IndependentRun, durationS: number): string[] {
  const wl = r.op === 'put' ? ['put'] : ['range', '--consistency', r.op === 'range-s' ? 's' : 'l'];
  return [...wl, '--clients', String(r.clients), '--conns', '1', '--duration', String(durationS), '--key-space-size', String(KEY_SPACE)];
}

function runLoop(name: LoopName, endpoint: string, r: IndependentRun, durationS: number): number {
  if (name === 'go clientv3') {
    const op = r.op === 'put' ? ['--op', 'put'] : ['--op', 'range', '--consistency', r.op === 'range-s' ? 's' : 'l'];
    const g = spawnSync(GO_GEN, ['--endpoints', endpoint, ...op, '--clients', String(r.clients), '--conns', '1', '--duration', `${durationS}s`, '--key-space-size', String(KEY_SPACE)], { encoding: 'utf8' });
    if (g.status !== 0) throw new Error(`go generator failed: ${g.stderr}`);
    return (JSON.parse(g.stdout.trim().split('\n').pop()!) as { reqs_per_s: number }).reqs_per_s;
  }
  const p = spawnSync(process.execPath, [LOOPS[name], endpoint, r.op, String(r.clients), String(durationS), String(KEY_SPACE)], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`${name} loop failed: ${p.stderr}`);
  return (JSON.parse(p.stdout.trim().split('\n').pop()!) as { throughput: number }).throughput;
}

export async function runValidation(o: NativeOptions): Promise<number> {
  const cluster = new Cluster('etcd', { etcdBin: o.etcdBin, etcdTsBin: o.etcdTsBin });
  let failures = 0;
  console.log(`# generator validation ${new Date().toISOString()} on ${machineLine()}, ${o.rounds} rounds`);
  try {
    await cluster.start(1);
    const ep = cluster.endpoints[0]!;
    await prefill(ep, 100_000, 8, 256);
    console.log('| run | bench (median) | independent client | its median | bench / client, median of per-round ratios | within 15% | rounds: bench / client |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of RUNS) {
      const ours: number[] = [];
      const names = loopNames();
      const theirs = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<LoopName, number[]>;
      for (let i = 0; i < o.rounds; i++) {
        ours.push((await runBench(benchArgs(r, o.durationS), [ep])).throughput);
        for (const name of names) theirs[name].push(runLoop(name, ep, r, o.durationS));
      }
      const a = median(ours);
      for (const name of names) {
        const b = median(theirs[name]);
        // Noise on a shared machine is correlated in time, so compare each round with the
        // run next to it: the median of the per-round ratios is the criterion.
        const paired = median(ours.map((x, i) => x / theirs[name][i]!));
        const d = Math.abs(paired - 1);
        const ok = d <= VALIDATE_TOLERANCE;
        if (!ok && name === names[0]) failures++;
        console.log(`| ${r.op} ${r.clients}/1 | ${Math.round(a)}/s | ${name} | ${Math.round(b)}/s | ${paired.toFixed(3)} | ${ok ? 'yes' : 'NO'} | ${ours.map(Math.round).join(', ')} / ${theirs[name].map(Math.round).join(', ')} |`);
      }
    }
    console.log('\n| put 100/10 | threads | req/s (median) | generator CPU | server CPU | rounds req/s |');
    console.log('|---|---|---|---|---|---|');
    for (const threads of [1, 2]) {
      const tput: number[] = [];
      const gen: number[] = [];
      const srv: number[] = [];
      for (let i = 0; i < o.rounds; i++) {
        const c0 = cpuSeconds(cluster.pid(0));
        const res = await runBench(['put', '--clients', '100', '--conns', '10', '--threads', String(threads), '--duration', String(o.durationS), '--key-space-size', '100000'], [ep]);
        const serverCpuS = cpuSeconds(cluster.pid(0)) - c0;
        tput.push(res.throughput);
        gen.push((100 * (res.generatorCpuS ?? NaN)) / res.elapsedS);
        srv.push((100 * serverCpuS) / res.elapsedS);
      }
      console.log(`| | ${threads} | ${Math.round(median(tput))}/s | ${median(gen).toFixed(0)}% | ${median(srv).toFixed(0)}% | ${tput.map(Math.round).join(', ')} |`);
    }
  } finally {
    await cluster.stop();
  }
  console.log(failures === 0 ? `\ngenerator agrees with the referee (${loopNames()[0]}) within 15% on every run` : `\n${failures} run(s) differ from the referee (${loopNames()[0]}) by more than 15%`);
  return failures === 0 ? 0 : 1;
}
