#!/usr/bin/env bash
# Builds the Go clientv3 load generator (etcd-load) offline, in GOPATH mode, from
# Debian's packaged sources: golang-go (the compiler) and golang-etcd-server-dev (the
# etcd 3.4 sources with clientv3 and their dependencies under /usr/share/gocode/src).
# No module download, no network. Output: native-bench/go/bin/etcd-load (gitignored).
#
#   native-bench/go/build.sh
#   ETCD_GOPATH=/other/gocode native-bench/go/build.sh   # a different GOPATH tree
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gopath="${ETCD_GOPATH:-/usr/share/gocode}"
install_hint="install them with: apt-get install golang-go golang-etcd-server-dev"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: 'go' is not on PATH (Go is needed only for this benchmark tool); $install_hint" >&2
  exit 1
fi
if [ ! -f "$gopath/src/go.etcd.io/etcd/clientv3/client.go" ]; then
  echo "build.sh: the etcd 3.4 Go sources (clientv3) are not under $gopath/src/go.etcd.io/etcd; $install_hint" >&2
  exit 1
fi

# A build cache the user can write to, even with a read-only or absent $HOME.
if [ -z "${GOCACHE:-}" ]; then
  if ! GOCACHE="$(go env GOCACHE 2>/dev/null)" || [ -z "$GOCACHE" ] || ! mkdir -p "$GOCACHE" 2>/dev/null; then
    GOCACHE="${TMPDIR:-/tmp}/etcd-load-gocache"
  fi
fi
export GOCACHE

mkdir -p "$here/bin"
cd "$here"
echo "build.sh: $(go version); GOPATH=$gopath (GO111MODULE=off)" >&2
# GOPATH mode: Debian's layout has no go.mod per dependency; GOFLAGS from the
# environment (e.g. -mod=vendor) would not apply to it, so it is cleared.
GO111MODULE=off GOPATH="$gopath" GOFLAGS= GOPROXY=off \
  go build -o "$here/bin/etcd-load" ./etcd-load
echo "build.sh: built $here/bin/etcd-load" >&2
