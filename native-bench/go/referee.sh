#!/usr/bin/env bash
# Is our generator (`npm run bench`) measuring the server, and not itself? Both generators,
# ours (TypeScript, bench/h2-wire.ts) and the Go clientv3 one (bin/etcd-load), drive the same
# running server in one run, alternating (go ts go ts ...), same case, same key space; the
# table gives each one's median req/s, its own CPU, and ts/go. Issue 13 asks for agreement
# within 15% on the real etcd for put 1/1, put 100/10 and range 100/10.
#
#   native-bench/go/referee.sh [--rounds R] [--duration D] [--cases LIST] [--threads N] [--etcd PATH]
#
#   --rounds R     rounds (default 3)
#   --duration D   measured seconds per run (default 8)
#   --cases LIST   op:clients:conns,... (default put:1:1,put:100:10,range:100:10); op is put or range
#   --threads N    our generator's --threads (default 1: leaves the server its cores)
#   --etcd PATH    the server, started fresh on free 127.0.0.1 ports (default: etcd on PATH)
#
# Needs: node_modules (npm ci), dist (npm run build), bin/etcd-load (native-bench/go/build.sh).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rounds=3; duration=8; cases="put:1:1,put:100:10,range:100:10"; threads=1; etcd="$(command -v etcd || true)"
die() { echo "referee: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --etcd) etcd="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ "$duration" =~ ^[1-9][0-9]*$ ]] || die "--duration must be whole seconds"
[ -x "$here/bin/etcd-load" ] || die "no Go generator; build it: native-bench/go/build.sh"
[ -f "$repo/dist/bench/main.js" ] || die "no dist/bench/main.js; run: npm run build"
[ -n "$etcd" ] && [ -x "$etcd" ] || die "no etcd binary (apt-get install etcd-server, or --etcd PATH)"
node="$repo/node_modules/.bin/node"; [ -x "$node" ] || node="$(command -v node)"

dir="$(mktemp -d "${TMPDIR:-/tmp}/referee-XXXXXX")"
pid=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { "$node" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
cp="$(free_port)"; pp="$(free_port)"
"$etcd" --name referee --data-dir "$dir/data" --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
  --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
  --initial-cluster "referee=http://127.0.0.1:$pp" > "$dir/server.log" 2>&1 &
pid=$!
ep="127.0.0.1:$cp"
for _ in $(seq 100); do
  "$here/bin/etcd-load" --endpoints "$ep" --op range --total 1 --warmup 0 >/dev/null 2>&1 && break
  sleep 0.2
done
"$here/bin/etcd-load" --endpoints "$ep" --prefill-only --key-space-size 1000 > /dev/null || die "prefill failed: $(tail -3 "$dir/server.log")"

echo "referee: $("$etcd" --version | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds x ${duration}s, our generator with --threads $threads"
results="$dir/results.txt"
IFS=',' read -r -a list <<< "$cases"
for r in $(seq "$rounds"); do
  for c in "${list[@]}"; do
    IFS=':' read -r op cl cn <<< "$c"
    g="$("$here/bin/etcd-load" --endpoints "$ep" --op "$op" --clients "$cl" --conns "$cn" --duration "${duration}s" --key-space-size 1000 2>/dev/null)"
    t="$("$node" "$repo/dist/bench/main.js" "$op" --endpoints "$ep" --clients "$cl" --conns "$cn" --duration "${duration}s" \
      --threads "$threads" --key-space-size 1000 --json --no-progress 2>/dev/null | tail -n 1)"
    echo "$c go $g" >> "$results"
    echo "$c ts $t" >> "$results"
    echo "referee: round $r $c done" >&2
  done
done

"$node" - "$results" "$duration" <<'EOF'
const lines = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n');
const by = new Map();
for (const l of lines) {
  const [c, who, ...rest] = l.split(' ');
  let rps = NaN, cpu = NaN, errs = NaN;
  try {
    const j = JSON.parse(rest.join(' '));
    if (who === 'go') { rps = j.reqs_per_s; cpu = j.generator_cpu_s; errs = j.error_count; }
    else { rps = j.throughput; cpu = j.generatorCpuS; errs = j.errorCount; }
  } catch {}
  const k = `${c} ${who}`;
  if (!by.has(k)) by.set(k, []);
  by.get(k).push({ rps, cpu, errs });
}
const med = (xs) => { const s = xs.filter(Number.isFinite).sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };
const f = (x) => Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a';
console.log('| case | go req/s (rounds) | ts req/s (rounds) | ts / go | go CPU us/req | ts CPU us/req | errors go / ts |');
console.log('|---|---|---|---|---|---|---|');
for (const c of [...new Set(lines.map((l) => l.split(' ')[0]))]) {
  const g = by.get(`${c} go`) ?? [], t = by.get(`${c} ts`) ?? [];
  const gm = med(g.map((x) => x.rps)), tm = med(t.map((x) => x.rps));
  const cpuUs = (xs) => med(xs.map((x) => x.cpu * 1e6 / (x.rps * Number(process.argv[3]))));
  const sum = (xs) => xs.reduce((a, x) => a + (Number.isFinite(x.errs) ? x.errs : 0), 0);
  console.log(`| ${c.replace(/:/, ' ').replace(/:/, '/')} | ${f(gm)} (${g.map((x) => f(x.rps)).join(', ')}) | ${f(tm)} (${t.map((x) => f(x.rps)).join(', ')}) | ${(tm / gm).toFixed(2)}x | ${f(cpuUs(g))} | ${f(cpuUs(t))} | ${sum(g)} / ${sum(t)} |`);
}
EOF
