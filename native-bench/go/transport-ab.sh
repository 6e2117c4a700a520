#!/usr/bin/env bash
# The client gRPC transport A/B (issue 13): the same checkout's bin/etcd with
# ETCDTS_GRPC_TRANSPORT=node (node:http2) and =wire (our own HTTP/2 framing), alternated by
# side-by-side.sh, fresh server per case and round; server CPU per request is the number
# to trust on a shared machine.
#
#   native-bench/go/transport-ab.sh [side-by-side.sh options, e.g. --rounds 3 --cases put:1:1,put:100:10,range-l:100:10]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
nodebin="$repo/node_modules/.bin/node"
[ -x "$nodebin" ] || nodebin="$(command -v node)"
wrappers="$(mktemp -d "${TMPDIR:-/tmp}/transport-ab-XXXXXX")"
trap 'rm -rf "$wrappers"' EXIT
for kind in node wire; do
  printf '#!/bin/sh\nETCDTS_GRPC_TRANSPORT=%s exec %s %s/bin/etcd "$@"\n' "$kind" "$nodebin" "$repo" > "$wrappers/etcd-$kind"
  chmod +x "$wrappers/etcd-$kind"
done
"$here/side-by-side.sh" "$@" "node=$wrappers/etcd-node" "wire=$wrappers/etcd-wire"
