# Sourced by side-by-side.sh and cluster-side-by-side.sh: one case "op:clients:conns" into
# the generator's flags. Sets op, cl, cn, gop (etcd-load's --op) and extra (more flags);
# returns 1 for an op it does not know.
case_flags() {
  IFS=':' read -r op cl cn <<< "$1"
  extra=()
  case "$op" in
    put|txn-put|kube-create|kube-list|kube-count) gop="$op" ;;
    range-l) gop=range; extra=(--consistency l) ;;
    range-s) gop=range; extra=(--consistency s) ;;
    *) return 1 ;;
  esac
}
