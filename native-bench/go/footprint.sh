#!/usr/bin/env bash
# Memory and disk after loading N keys, and restart time, side by side (issue 13):
# for each server, one after the other: start fresh, prefill N keys with the Go clientv3
# generator (8-byte keys, 256-byte values, 100 puts per txn), read the server's memory from
# /proc (RSS split into anonymous pages, the heap, and file-backed pages, the mapped store,
# which the kernel can drop and read again), the data dir's size, then stop it (SIGTERM),
# start it again on the same data dir and time until the first linearizable read answers.
#
#   native-bench/go/footprint.sh [--keys N] NAME=PATH [NAME=PATH ...]
#   native-bench/go/footprint.sh --keys 1000000 etcd=/usr/bin/etcd ts=/work/main
#
# PATH is the real etcd binary or an etcd-ts checkout (as side-by-side.sh).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
keys=1000000
die() { echo "footprint: $*" >&2; exit 1; }
names=(); cmds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *=*)
      n="${1%%=*}"; p="${1#*=}"; shift
      [ -d "$p" ] && p="$p/bin/etcd"
      [ -f "$p" ] || die "$n: no such file: $p"
      if head -n 1 "$p" | grep -q node; then
        co="$(cd "$(dirname "$p")/.." && pwd)"; nb="$co/node_modules/.bin/node"; [ -x "$nb" ] || nb="$(command -v node)"
        cmds+=("$nb $co/bin/etcd")
      else
        cmds+=("$p")
      fi
      names+=("$n") ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ ${#names[@]} -gt 0 ] || die "no servers given"
[[ "$keys" =~ ^[1-9][0-9]*$ ]] || die "--keys must be a positive integer"
[ -x "$here/bin/etcd-load" ] || die "no Go generator; build it: native-bench/go/build.sh"
node="$(command -v node)"

pid=""; dir=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; [ -n "$dir" ] && rm -rf "$dir"; }
trap cleanup EXIT
free_port() { "$node" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
mb() { echo $(( ($1 + 512) / 1024 )); }

echo "| server | keys | load s | RSS MB | anonymous MB | file-backed MB | data dir MB | restart to first read s |"
echo "|---|---|---|---|---|---|---|---|"
for i in "${!names[@]}"; do
  dir="$(mktemp -d "${TMPDIR:-/tmp}/footprint-XXXXXX")"
  cp="$(free_port)"; pp="$(free_port)"; ep="127.0.0.1:$cp"
  start() {
    ${cmds[$i]} --name fp --data-dir "$dir/data" --listen-client-urls "http://$ep" --advertise-client-urls "http://$ep" \
      --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
      --initial-cluster "fp=http://127.0.0.1:$pp" --quota-backend-bytes 8589934592 >> "$dir/server.log" 2>&1 &
    pid=$!
  }
  ready() {
    local t0; t0=$(date +%s.%N)
    for _ in $(seq 600); do
      "$here/bin/etcd-load" --endpoints "$ep" --op range --total 1 --warmup 0 --timeout 250ms >/dev/null 2>&1 && break
      sleep 0.05
    done
    printf "%.2f" "$(echo "$(date +%s.%N) - $t0" | bc)"
  }
  start; ready > /dev/null
  load="$("$here/bin/etcd-load" --endpoints "$ep" --prefill-only --key-space-size "$keys" | sed 's/.*"prefill_s":\([0-9.]*\).*/\1/')"
  sleep 2
  rss="$(kb "$pid" VmRSS)"; anon="$(kb "$pid" RssAnon)"; file="$(kb "$pid" RssFile)"
  size="$(du -sk "$dir/data" | cut -f1)"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=""
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  start; restart="$(ready)"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=""
  echo "| ${names[$i]} | $keys | $load | $(mb "$rss") | $(mb "$anon") | $(mb "$file") | $(mb "$size") | $restart |"
  rm -rf "$dir"; dir=""
done
