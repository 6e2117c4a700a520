#!/usr/bin/env bash
# Maintenance at N keys, side by side (issue 12): for each server, one after the other, start
# fresh, load N keys with the Go clientv3 generator (8-byte keys, 256-byte values, 100 puts per
# txn), then
#   1. put latency without maintenance: etcd-load --op put for --window seconds;
#   2. `etcdctl defrag` alone, timed (the stock etcdctl 3.4, --command-timeout 10m);
#   3. put latency during a defrag: etcd-load --op put started with a second `etcdctl defrag`,
#      for max(--window, the defrag's time from 2) seconds, no warm-up;
#   4. `etcdctl snapshot save`, timed (the stock etcdctl 3.4 against the server);
#   5. the server is stopped; the snapshot is restored into a new data dir, timed, with the
#      server's own tool: `etcdctl snapshot restore` (etcd 3.4) for a real etcd binary,
#      bin/etcdutl snapshot restore for an etcd-ts checkout.
# Defrag and save also report the server's CPU seconds (/proc/<pid>/stat, every thread), restore
# the tool's (user + system): less sensitive than wall clock to a busy machine.
# Prints one markdown table row per server. Puts overwrite random keys of the same key space.
#
#   native-bench/go/maintenance.sh [--keys N] [--clients C] [--window S] NAME=PATH [NAME=PATH ...]
#   native-bench/go/maintenance.sh --keys 1000000 etcd=/usr/bin/etcd ts=/work/main
#
# PATH is the real etcd binary or an etcd-ts checkout (as footprint.sh). ETCDCTL=/path picks the
# etcdctl used for defrag, save and etcd's restore (default: etcdctl on PATH, 3.4 here).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
keys=1000000; clients=10; window=10
etcdctl="${ETCDCTL:-$(command -v etcdctl)}"
die() { echo "maintenance: $*" >&2; exit 1; }
names=(); cmds=(); restores=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *=*)
      n="${1%%=*}"; p="${1#*=}"; shift
      [ -d "$p" ] && p="$p/bin/etcd"
      [ -f "$p" ] || die "$n: no such file: $p"
      if head -n 1 "$p" | grep -q node; then
        co="$(cd "$(dirname "$p")/.." && pwd)"; nb="$co/node_modules/.bin/node"; [ -x "$nb" ] || nb="$(command -v node)"
        cmds+=("$nb $co/bin/etcd"); restores+=("$nb $co/bin/etcdutl snapshot restore")
      else
        cmds+=("$p"); restores+=("env ETCDCTL_API=3 $etcdctl snapshot restore")
      fi
      names+=("$n") ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ ${#names[@]} -gt 0 ] || die "no servers given"
[[ "$keys" =~ ^[1-9][0-9]*$ ]] || die "--keys must be a positive integer"
[[ "$clients" =~ ^[1-9][0-9]*$ ]] || die "--clients must be a positive integer"
[[ "$window" =~ ^[1-9][0-9]*$ ]] || die "--window must be a positive number of seconds"
[ -x "$here/bin/etcd-load" ] || die "no Go generator; build it: native-bench/go/build.sh"
[ -n "$etcdctl" ] || die "no etcdctl on PATH (apt-get install etcd-client), or set ETCDCTL"
node="$(command -v node)"

pid=""; dir=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; [ -n "$dir" ] && rm -rf "$dir"; }
trap cleanup EXIT
free_port() { "$node" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
now() { date +%s.%N; }
since() { printf "%.2f" "$(echo "$(now) - $1" | bc)"; }
# p50, p99 and max (ms) and the error count of one etcd-load JSON line.
lat() { "$node" -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));const l=r.latency_ms;console.log(`${l.p50} / ${l.p99} / ${l.max} ms (${r.requests} puts${r.error_count?`, ${r.error_count} errors: ${Object.keys(r.errors).join("; ")}`:""})`)'; }
# CPU seconds (user + system, every thread) a process used so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
cpu_since() { printf "%.2f" "$(echo "$(cpu "$1") - $2" | bc)"; }
ctl() { ETCDCTL_API=3 "$etcdctl" --endpoints "$ep" --command-timeout 10m "$@"; }

echo "date: $(date -u +%FT%TZ); load average: $(cut -d' ' -f1-3 /proc/loadavg); keys: $keys; put clients: $clients (1 connection); window: ${window}s" >&2
echo "| server | keys | load s | put p50 / p99 / max, no maintenance | defrag alone s (server CPU s) | put p50 / p99 / max during defrag | defrag with puts s | snapshot save s (server CPU s) | snapshot MB | restore s (CPU s) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for i in "${!names[@]}"; do
  dir="$(mktemp -d "${TMPDIR:-/tmp}/maintenance-XXXXXX")"
  cp="$(free_port)"; pp="$(free_port)"; ep="127.0.0.1:$cp"
  ${cmds[$i]} --name mb --data-dir "$dir/data" --listen-client-urls "http://$ep" --advertise-client-urls "http://$ep" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "mb=http://127.0.0.1:$pp" --quota-backend-bytes 8589934592 >> "$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    "$here/bin/etcd-load" --endpoints "$ep" --op range --total 1 --warmup 0 --timeout 250ms >/dev/null 2>&1 && break
    sleep 0.05
  done
  load="$("$here/bin/etcd-load" --endpoints "$ep" --prefill-only --key-space-size "$keys" | sed 's/.*"prefill_s":\([0-9.]*\).*/\1/')"
  put=(--endpoints "$ep" --op put --clients "$clients" --conns 1 --key-space-size "$keys")
  base="$("$here/bin/etcd-load" "${put[@]}" --duration "${window}s" --warmup 1s | lat)"
  c0="$(cpu "$pid")"; t0="$(now)"; ctl defrag > "$dir/defrag1.out" 2>&1 || echo "${names[$i]}: defrag failed: $(cat "$dir/defrag1.out")" >&2
  alone="$(since "$t0")"; alonecpu="$(cpu_since "$pid" "$c0")"
  w="$(echo "$alone" | awk -v w="$window" '{ d = int($1 + 0.999); print (d > w ? d : w) }')"
  ( t1="$(now)"; ctl defrag > "$dir/defrag2.out" 2>&1 || echo "${names[$i]}: defrag failed: $(cat "$dir/defrag2.out")" >&2; since "$t1" > "$dir/defrag2.s" ) &
  dpid=$!
  during="$("$here/bin/etcd-load" "${put[@]}" --duration "${w}s" --warmup 0s | lat)"
  wait "$dpid"; withputs="$(cat "$dir/defrag2.s")"
  c0="$(cpu "$pid")"; t0="$(now)"; ctl snapshot save "$dir/snap.db" > "$dir/save.out" 2>&1 || echo "${names[$i]}: snapshot save failed: $(cat "$dir/save.out")" >&2
  save="$(since "$t0")"; savecpu="$(cpu_since "$pid" "$c0")"
  smb=$(( ($(stat -c %s "$dir/snap.db" 2>/dev/null || echo 0) + 524288) / 1048576 ))
  kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=""
  t0="$(now)"
  /usr/bin/time -f "%U %S" -o "$dir/restore.cpu" ${restores[$i]} "$dir/snap.db" --data-dir "$dir/restored" --name mb --initial-cluster "mb=http://127.0.0.1:$pp" \
    --initial-advertise-peer-urls "http://127.0.0.1:$pp" > "$dir/restore.out" 2>&1 || echo "${names[$i]}: restore failed: $(cat "$dir/restore.out")" >&2
  restore="$(since "$t0")"; restorecpu="$(awk '{ printf "%.2f", $1 + $2 }' "$dir/restore.cpu" 2>/dev/null)"
  echo "| ${names[$i]} | $keys | $load | $base | $alone ($alonecpu) | $during | $withputs | $save ($savecpu) | $smb | $restore ($restorecpu) |"
  rm -rf "$dir"; dir=""
done
