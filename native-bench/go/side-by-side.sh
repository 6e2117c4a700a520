#!/usr/bin/env bash
# Side by side: the real etcd and one or more etcd-ts checkouts, driven by the Go
# clientv3 load generator (bin/etcd-load, built by ./build.sh), alternating
# (A B C A B C ...), one member each, fresh data dir per start, on 127.0.0.1 only.
#
#   native-bench/go/side-by-side.sh [options] NAME=PATH [NAME=PATH ...]
#
#   NAME=PATH   a server: PATH is the real etcd binary (e.g. etcd=/usr/bin/etcd), or an
#               etcd-ts checkout (its directory or its bin/etcd, e.g. ts=/work/main/bin/etcd),
#               started as <checkout>/node_modules/.bin/node <checkout>/bin/etcd (or the
#               `node` on PATH if the checkout has none). Any number of etcd-ts checkouts
#               (e.g. old=... new=...). Ratios are against the first real etcd given.
#
# Options:
#   --rounds R          rounds (default 2)
#   --duration D        measured time per case (default 10s)
#   --warmup D          unmeasured load before each case (default 1s)
#   --cases LIST        op:clients:conns,... (default put:1:1,put:100:10,put:1000:100);
#                       op is put, txn-put, range-l, range-s, kube-create, kube-list
#                       (one page of 500 at a fixed revision) or kube-count
#   --keys N            key space, prefilled after each start (default 100000)
#   --out FILE          JSON lines, one per run (default native-bench/results/go-side-by-side-<time>.jsonl)
#   --gen PATH          the generator (default native-bench/go/bin/etcd-load)
#
# For each round, for each server: start it with etcd's flags, wait until a linearizable
# read succeeds, prefill, run every case, stop it (SIGTERM, SIGKILL after 10 s), delete
# its data. The server's CPU (utime+stime of all its threads, /proc/<pid>/stat) over each
# measured interval is read by the generator (--server-pid). At the end: a Markdown table
# of medians per server and case. Every server started is killed on exit or failure.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cases.sh
. "$here/cases.sh"
repo="$(cd "$here/../.." && pwd)"

rounds=2
duration=10s
warmup=1s
cases="put:1:1,put:100:10,put:1000:100"
keys=100000
out=""
gen="$here/bin/etcd-load"

die() { echo "side-by-side: $*" >&2; exit 1; }
usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

names=(); paths=(); kinds=(); cmds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --gen) gen="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *=*) names+=("${1%%=*}"); paths+=("${1#*=}"); shift ;;
    *) echo "side-by-side: unknown argument: $1" >&2; usage 2 ;;
  esac
done
[ ${#names[@]} -gt 0 ] || { echo "side-by-side: no servers given" >&2; usage 2; }
[ -x "$gen" ] || die "no generator at $gen; build it first: native-bench/go/build.sh"
command -v node >/dev/null 2>&1 || die "node is needed (free ports, the summary table)"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"

# --- servers: the command line of each ---------------------------------------------
declare -A seen
for i in "${!names[@]}"; do
  n="${names[$i]}"; p="${paths[$i]}"
  [[ "$n" =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad server name '$n' (letters, digits, _ . -)"
  [ -z "${seen[$n]:-}" ] || die "server name '$n' given twice"
  seen[$n]=1
  if [ -d "$p" ]; then p="$p/bin/etcd"; fi
  [ -f "$p" ] || die "$n: no such file: $p"
  if [ "$(head -c 2 "$p")" = "#!" ] && head -n 1 "$p" | grep -q node; then
    checkout="$(cd "$(dirname "$p")/.." && pwd)"
    nodebin="$checkout/node_modules/.bin/node"
    [ -x "$nodebin" ] || nodebin="$(command -v node)"
    kinds+=("etcd-ts")
    cmds+=("$nodebin $(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
  else
    [ -x "$p" ] || die "$n: not executable: $p"
    kinds+=("etcd")
    cmds+=("$p")
  fi
done

if [ -z "$out" ]; then
  mkdir -p "$repo/native-bench/results"
  out="$repo/native-bench/results/go-side-by-side-$(date -u +%Y-%m-%dT%H-%M-%SZ).jsonl"
fi
: > "$out" || die "cannot write $out"

# --- cleanup: every process started and not yet reaped is killed on exit -------------
server_pid=""; gen_pid=""; server_dir=""
cleanup() {
  [ -n "$gen_pid" ] && kill -KILL "$gen_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  [ -n "$server_dir" ] && rm -rf "$server_dir"
}
trap cleanup EXIT
trap 'echo "side-by-side: interrupted" >&2; exit 130' INT TERM HUP

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

json_str() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

# runs the generator in the background (so that a signal is handled at once), waits,
# leaves its stdout in $gen_out; returns its exit status
gen_out=""
run_gen() {
  "$gen" "$@" > "$server_dir/gen.out" 2> "$server_dir/gen.err" &
  gen_pid=$!
  wait "$gen_pid"
  local rc=$?
  gen_pid=""
  gen_out="$(cat "$server_dir/gen.out")"
  return $rc
}

version_of() { # $1 = index
  local v
  v="$(${cmds[$1]} --version 2>/dev/null | head -n 3 | tr '\n' ' ')"
  if [ "${kinds[$1]}" = "etcd-ts" ]; then
    local co; co="$(dirname "$(dirname "${cmds[$1]##* }")")"
    local c; c="$(git -C "$co" rev-parse --short HEAD 2>/dev/null)"
    [ -n "$c" ] && v="$v(commit $c$(git -C "$co" diff --quiet HEAD 2>/dev/null || echo ', dirty'))"
  fi
  echo "$v"
}

server_ep=""
start_server() { # $1 = index
  local i="$1"
  server_dir="$(mktemp -d "${TMPDIR:-/tmp}/gobench-${names[$i]}-XXXXXX")" || die "mktemp failed"
  local cp pp
  cp="$(free_port)"; pp="$(free_port)"
  while [ "$pp" = "$cp" ]; do pp="$(free_port)"; done
  local curl="http://127.0.0.1:$cp" purl="http://127.0.0.1:$pp"
  server_ep="127.0.0.1:$cp"
  # shellcheck disable=SC2086
  ${cmds[$i]} --name gobench --data-dir "$server_dir/data" \
    --listen-client-urls "$curl" --advertise-client-urls "$curl" \
    --listen-peer-urls "$purl" --initial-advertise-peer-urls "$purl" \
    --initial-cluster "gobench=$purl" > "$server_dir/server.log" 2>&1 &
  server_pid=$!
  # ready when a linearizable read succeeds
  local deadline=$((SECONDS + 60))
  while :; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "side-by-side: ${names[$i]} exited at start; its log:" >&2
      tail -n 20 "$server_dir/server.log" >&2
      return 1
    fi
    if "$gen" --endpoints "$server_ep" --op range --total 1 --warmup 0 --timeout 2s \
        --key-space-size 1 2>/dev/null | grep -q '"error_count":0'; then
      return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "side-by-side: ${names[$i]} did not answer within 60 s; its log:" >&2
      tail -n 20 "$server_dir/server.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null
  local deadline=$((SECONDS + 10))
  while kill -0 "$server_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
  rm -rf "$server_dir"
  server_dir=""
}

echo "side-by-side: $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/'); rounds $rounds, $duration per case, cases $cases, $keys keys" >&2
echo "side-by-side: generator $gen" >&2
meta_versions="{"
for i in "${!names[@]}"; do
  v="$(version_of "$i")"
  echo "side-by-side: ${names[$i]} (${kinds[$i]}): ${cmds[$i]} -- $v" >&2
  [ "$i" -gt 0 ] && meta_versions+=","
  meta_versions+="$(json_str "${names[$i]}"):{\"kind\":\"${kinds[$i]}\",\"command\":$(json_str "${cmds[$i]}"),\"version\":$(json_str "$v")}"
done
meta_versions+="}"
echo "{\"meta\":{\"date\":\"$(date -u +%FT%TZ)\",\"cpus\":$(nproc),\"load_start\":$(json_str "$(cat /proc/loadavg)"),\"rounds\":$rounds,\"duration\":\"$duration\",\"keys\":$keys,\"cases\":$(json_str "$cases"),\"servers\":$meta_versions}}" >> "$out"

IFS=',' read -r -a case_list <<< "$cases"
for ((r = 1; r <= rounds; r++)); do
  for i in "${!names[@]}"; do
    n="${names[$i]}"
    echo "side-by-side: round $r/$rounds, $n: starting" >&2
    if ! start_server "$i"; then
      stop_server
      echo "{\"server\":$(json_str "$n"),\"round\":$r,\"failed\":\"start\"}" >> "$out"
      continue
    fi
    pre=null
    if run_gen --endpoints "$server_ep" --prefill-only --key-space-size "$keys" && [ -n "$gen_out" ]; then
      pre="$gen_out"
    else
      echo "side-by-side: $n: prefill failed: $(tail -n 3 "$server_dir/gen.err")" >&2
    fi
    for c in "${case_list[@]}"; do
      case_flags "$c" || die "unknown op in case '$c'"
      run_gen --endpoints "$server_ep" --op "$gop" "${extra[@]}" --clients "$cl" --conns "$cn" \
        --duration "$duration" --warmup "$warmup" --key-space-size "$keys" --server-pid "$server_pid"
      line="$gen_out"
      if [ -z "$line" ]; then
        echo "side-by-side: $n $c: the generator failed: $(tail -n 3 "$server_dir/gen.err")" >&2
        echo "{\"server\":$(json_str "$n"),\"round\":$r,\"case\":\"$c\",\"failed\":\"generator\"}" >> "$out"
        continue
      fi
      echo "{\"server\":$(json_str "$n"),\"kind\":\"${kinds[$i]}\",\"round\":$r,\"case\":\"$c\",\"prefill\":${pre:-null},\"result\":$line}" >> "$out"
      echo "side-by-side: round $r, $n, $c: $(echo "$line" | node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(`${Math.round(j.reqs_per_s)}/s p50 ${j.latency_ms.p50} ms p99 ${j.latency_ms.p99} ms errors ${j.error_count} server ${j.server_cpu_us_per_req} us/req gen CPU ${j.generator_cpu_pct}%`)')" >&2
    done
    stop_server
  done
done

echo "side-by-side: results in $out" >&2
node "$here/summarize.mjs" "$out"
