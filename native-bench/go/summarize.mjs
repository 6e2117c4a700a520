#!/usr/bin/env node
// Prints the Markdown table of a side-by-side.sh run: medians per server and case, and
// the ratio of each etcd-ts to the (first) real etcd.
//   node native-bench/go/summarize.mjs native-bench/results/go-side-by-side-<time>.jsonl
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: summarize.mjs <results.jsonl>');
  process.exit(2);
}
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
const meta = lines.find((l) => l.meta)?.meta ?? { servers: {} };
const runs = lines.filter((l) => l.result);
const failures = lines.filter((l) => l.failed);

const servers = Object.keys(meta.servers);
for (const r of runs) if (!servers.includes(r.server)) servers.push(r.server);
const cases = meta.cases ? meta.cases.split(',') : [...new Set(runs.map((r) => r.case))];
const base = servers.find((s) => meta.servers[s]?.kind === 'etcd' && runs.some((r) => r.server === s)) ?? servers.find((s) => meta.servers[s]?.kind === 'etcd');

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fmtMs = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : 'n/a');
const fmtRatio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');
const label = (c) => {
  const [op, cl, cn] = c.split(':');
  const name = { 'range-l': 'range linearizable', 'range-s': 'range serializable' }[op] ?? op;
  return `${name} ${cl}/${cn}`;
};

function stats(server, c) {
  const rs = runs.filter((r) => r.server === server && r.case === c).map((r) => r.result);
  return {
    n: rs.length,
    rps: median(rs.map((r) => r.reqs_per_s)),
    p50: median(rs.map((r) => r.latency_ms.p50)),
    p99: median(rs.map((r) => r.latency_ms.p99)),
    errors: median(rs.map((r) => r.error_count)),
    cpu: median(rs.map((r) => r.server_cpu_us_per_req)),
    gen: median(rs.map((r) => r.generator_cpu_pct)),
    rounds: rs.map((r) => Math.round(r.reqs_per_s)).join(', '),
  };
}

const out = [];
out.push(`Go clientv3 side by side, ${meta.date ?? '?'}, ${meta.cpus ?? '?'} CPUs, load average at start ${meta.load_start ?? '?'}; ` +
  `${meta.rounds ?? '?'} rounds, ${meta.duration ?? '?'} per case, ${meta.keys ?? '?'} keys prefilled; medians.`);
out.push('');
for (const s of servers) out.push(`- ${s} (${meta.servers[s]?.kind ?? '?'}): \`${meta.servers[s]?.command ?? '?'}\` ${meta.servers[s]?.version ?? ''}`);
out.push('');
out.push(`| case | server | req/s | p50 ms | p99 ms | errors | server CPU us/req | generator CPU | req/s vs ${base ?? 'etcd'} | p99 vs ${base ?? 'etcd'} | CPU/req vs ${base ?? 'etcd'} | rounds req/s |`);
out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const c of cases) {
  const b = base ? stats(base, c) : undefined;
  for (const s of servers) {
    const x = stats(s, c);
    const isBase = s === base;
    const cmp = (f) => (b && !isBase ? f : '');
    out.push(`| ${label(c)} | ${s} | ${fmtInt(x.rps)} | ${fmtMs(x.p50)} | ${fmtMs(x.p99)} | ${fmtInt(x.errors)} | ${fmtInt(x.cpu)} | ` +
      `${Number.isFinite(x.gen) ? x.gen.toFixed(0) + '%' : 'n/a'} | ` +
      `${cmp(fmtRatio(x.rps / b?.rps))} | ${cmp(fmtRatio(x.p99 / b?.p99))} | ${cmp(fmtRatio(x.cpu / b?.cpu))} | ${x.rounds || 'none'} |`);
  }
}
const errs = new Map();
for (const r of runs) {
  for (const [m, n] of Object.entries(r.result.errors ?? {})) {
    const k = `${r.server}, ${label(r.case)}: ${m}`;
    errs.set(k, (errs.get(k) ?? 0) + n);
  }
}
if (errs.size || failures.length) {
  out.push('');
  for (const [k, n] of errs) out.push(`- errors (all rounds) ${k}: ${n}`);
  for (const f of failures) out.push(`- failed: ${f.server}, round ${f.round}${f.case ? `, ${label(f.case)}` : ''}: ${f.failed}`);
}
console.log(out.join('\n'));
