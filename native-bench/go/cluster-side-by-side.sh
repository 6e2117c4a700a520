#!/usr/bin/env bash
# Side by side in the cluster shape: for each server, a fresh 3-member cluster on 127.0.0.1
# (etcd's flags: --initial-cluster of 3, --initial-cluster-state new), the Go clientv3
# generator given all three client endpoints (clientv3 spreads its connections over them, as
# Kubernetes' apiservers do), alternating servers round by round; medians of req/s, latency,
# errors and the CPU of the three member processes together per request.
#
#   native-bench/go/cluster-side-by-side.sh [--rounds R] [--duration D] [--cases LIST] [--keys N] NAME=PATH ...
#   native-bench/go/cluster-side-by-side.sh --rounds 2 etcd=/usr/bin/etcd ts=/work/main
#
# PATH: the real etcd binary or an etcd-ts checkout (its directory or its bin/etcd).
# Cases as side-by-side.sh (op:clients:conns, op put, txn-put, range-l, range-s, kube-*);
# default put:1:1,put:100:10,put:1000:100. Output: the same table and JSON lines as
# side-by-side.sh (summarize.mjs), in native-bench/results/go-cluster-<time>.jsonl.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cases.sh
. "$here/cases.sh"
repo="$(cd "$here/../.." && pwd)"
rounds=2; duration=10s; warmup=1s; cases="put:1:1,put:100:10,put:1000:100"; keys=100000
die() { echo "cluster-side-by-side: $*" >&2; exit 1; }
names=(); cmds=(); kinds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *=*)
      n="${1%%=*}"; p="${1#*=}"; shift
      [ -d "$p" ] && p="$p/bin/etcd"
      [ -f "$p" ] || die "$n: no such file: $p"
      if head -n 1 "$p" | grep -q node; then
        co="$(cd "$(dirname "$p")/.." && pwd)"; nb="$co/node_modules/.bin/node"; [ -x "$nb" ] || nb="$(command -v node)"
        cmds+=("$nb $co/bin/etcd"); kinds+=("etcd-ts")
      else
        cmds+=("$p"); kinds+=("etcd")
      fi
      names+=("$n") ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ ${#names[@]} -gt 0 ] || die "no servers given"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
gen="$here/bin/etcd-load"; [ -x "$gen" ] || die "no Go generator; build it: native-bench/go/build.sh"
node="$(command -v node)"
mkdir -p "$repo/native-bench/results"
out="$repo/native-bench/results/go-cluster-$(date -u +%Y-%m-%dT%H-%M-%SZ).jsonl"; : > "$out"

pids=(); dir=""
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; [ -n "$dir" ] && rm -rf "$dir"; }
trap cleanup EXIT
trap 'echo "cluster-side-by-side: interrupted" >&2; exit 130' INT TERM HUP
free_port() { "$node" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

IFS=',' read -r -a case_list <<< "$cases"
servers_json=""
for i in "${!names[@]}"; do servers_json="${servers_json:+$servers_json,}\"${names[$i]}\":{\"kind\":\"${kinds[$i]}\",\"command\":\"${cmds[$i]}\"}"; done
echo "{\"meta\":{\"date\":\"$(date -u +%FT%TZ)\",\"cpus\":$(nproc),\"members\":3,\"rounds\":$rounds,\"duration\":\"$duration\",\"keys\":$keys,\"cases\":\"$cases\",\"servers\":{$servers_json}}}" >> "$out"
echo "cluster-side-by-side: $rounds rounds, 3 members each, $duration per case, $keys keys; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$rounds"); do
  for i in "${!names[@]}"; do
    n="${names[$i]}"
    dir="$(mktemp -d "${TMPDIR:-/tmp}/gocluster-$n-XXXXXX")"
    cps=(); pps=(); initial=""
    for m in 0 1 2; do
      cps+=("$(free_port)"); pps+=("$(free_port)")
      initial="${initial:+$initial,}m$m=http://127.0.0.1:${pps[$m]}"
    done
    pids=()
    for m in 0 1 2; do
      ${cmds[$i]} --name "m$m" --data-dir "$dir/m$m" --listen-client-urls "http://127.0.0.1:${cps[$m]}" --advertise-client-urls "http://127.0.0.1:${cps[$m]}" \
        --listen-peer-urls "http://127.0.0.1:${pps[$m]}" --initial-advertise-peer-urls "http://127.0.0.1:${pps[$m]}" \
        --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token bench > "$dir/m$m.log" 2>&1 &
      pids+=($!)
    done
    eps="127.0.0.1:${cps[0]},127.0.0.1:${cps[1]},127.0.0.1:${cps[2]}"
    ok=""
    for _ in $(seq 300); do
      "$gen" --endpoints "$eps" --op range --total 1 --warmup 0 --timeout 1s >/dev/null 2>&1 && { ok=1; break; }
      sleep 0.2
    done
    if [ -z "$ok" ]; then
      echo "cluster-side-by-side: $n round $r: the cluster did not answer; $(tail -n 2 "$dir/m0.log")" >&2
      echo "{\"server\":\"$n\",\"round\":$r,\"failed\":\"start\"}" >> "$out"
    else
      "$gen" --endpoints "$eps" --prefill-only --key-space-size "$keys" > /dev/null 2>&1
      pidlist="$(IFS=,; echo "${pids[*]}")"
      for c in "${case_list[@]}"; do
        case_flags "$c" || die "unknown op in case '$c'"
        line="$("$gen" --endpoints "$eps" --op "$gop" "${extra[@]}" --clients "$cl" --conns "$cn" --duration "$duration" --warmup "$warmup" \
          --key-space-size "$keys" --server-pid "$pidlist" 2>/dev/null)"
        if [ -z "$line" ]; then
          echo "{\"server\":\"$n\",\"round\":$r,\"case\":\"$c\",\"failed\":\"generator\"}" >> "$out"
        else
          echo "{\"server\":\"$n\",\"kind\":\"cluster of 3\",\"round\":$r,\"case\":\"$c\",\"result\":$line}" >> "$out"
        fi
        echo "cluster-side-by-side: round $r $n $c done" >&2
      done
    fi
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
    rm -rf "$dir"; dir=""
  done
done
"$node" "$here/summarize.mjs" "$out"
