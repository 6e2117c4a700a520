/**
 * `npm run bench:native -- --validate`: is the generator right, and is it not the
 * bottleneck? Against one real etcd member, alternating rounds:
 *  1. our generator vs the etcd3 npm client run the same way (same op, clients, one
 *     connection, same total): medians must agree within VALIDATE_TOLERANCE;
 *  2. put 100/10 with 1 and with 2 generator threads: more threads must not give
 *     materially more throughput, and the generator's CPU is printed next to the server's.
 */
import { NativeOptions } from './args.js';
import { median, relativeDiff } from '../bench/stats.js';
import { prefill } from '../bench/prefill.js';
import { runEtcd3, type IndependentRun } from './independent-client.js';
import { runBench } from './run-case.js';
import { cpuSeconds } from './procfs.js';
import { Cluster } from './server.js';
import { machineLine } from './machine.js';

/** The generator must agree with the independent client within 15%. */
export const VALIDATE_TOLERANCE = 0.15;

const RUNS: IndependentRun[] = [
  { op: 'put', clients: 1, total: 2000, keySpace: 100_000 },
  { op: 'range-s', clients: 1, total: 3000, keySpace: 100_000 },
  { op: 'put', clients: 100, total: 20_000, keySpace: 100_000 },
  { op: 'range-l', clients: 100, total: 30_000, keySpace: 100_000 },
];

function benchArgs(r: IndependentRun): string[] {
  const wl = r.op === 'put' ? ['put'] : ['range', '--consistency', r.op === 'range-s' ? 's' : 'l'];
  return [...wl, '--clients', String(r.clients), '--conns', '1', '--total', String(r.total), '--key-space-size', String(r.keySpace)];
}

export async function runValidation(o: NativeOptions): Promise<number> {
  const cluster = new Cluster('etcd', { etcdBin: o.etcdBin, etcdTsBin: o.etcdTsBin });
  let failures = 0;
  console.log(`# generator validation ${new Date().toISOString()} on ${machineLine()}, ${o.rounds} rounds`);
  try {
    await cluster.start(1);
    const ep = cluster.endpoints[0]!;
    await prefill(ep, 100_000, 8, 256);
    console.log('| run | bench (median) | etcd3 client (median) | difference | within 15% |');
    console.log('|---|---|---|---|---|');
    for (const r of RUNS) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < o.rounds; i++) {
        ours.push((await runBench(benchArgs(r), [ep])).throughput);
        theirs.push(await runEtcd3(ep, r));
      }
      const a = median(ours);
      const b = median(theirs);
      const d = relativeDiff(a, b);
      const ok = d <= VALIDATE_TOLERANCE;
      if (!ok) failures++;
      console.log(`| ${r.op} ${r.clients}/1 | ${Math.round(a)}/s | ${Math.round(b)}/s | ${(100 * d).toFixed(1)}% | ${ok ? 'yes' : 'NO'} |`);
    }
    console.log('\n| put 100/10 | threads | req/s (median) | generator CPU | server CPU |');
    console.log('|---|---|---|---|---|');
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
      console.log(`| | ${threads} | ${Math.round(median(tput))}/s | ${median(gen).toFixed(0)}% | ${median(srv).toFixed(0)}% |`);
    }
  } finally {
    await cluster.stop();
  }
  console.log(failures === 0 ? '\ngenerator agrees with the etcd3 client within 15% on every run' : `\n${failures} run(s) differ by more than 15%`);
  return failures === 0 ? 0 : 1;
}
