/**
 * Ends `hasleader=true` streams on a member that has lost its leader (etcd's monitorLeader in
 * its gRPC interceptors): once every election timeout the member asks whether it knows a
 * leader; after NO_LEADER_CHECKS checks in a row without one, every listener is told once and
 * dropped. Reconnecting a stream costs a client more than refusing a new one, so existing
 * streams get this grace of a few election timeouts; new ones are refused at once (watch.ts).
 *
 * A client such as kube-apiserver opens its watches with `hasleader=true` so that a member cut
 * off from its cluster ends them and the client reconnects through a member that has a leader,
 * instead of waiting on a stream that will never see another event.
 */

/** Consecutive leaderless checks before streams are ended (etcd's maxNoLeaderCnt). */
export const NO_LEADER_CHECKS = 3;

export class LeaderMonitor {
  readonly #hasLeader: () => boolean;
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #misses = 0;

  /** Checks every `intervalMs` (the election timeout). */
  constructor(hasLeader: () => boolean, intervalMs: number) {
    this.#hasLeader = hasLeader;
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  /** Calls `listener` once if the leader is lost; returns the unsubscribe function. */
  onLeaderLost(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One check (the timer's; tests call it directly). */
  check(): void {
    if (this.#hasLeader()) {
      this.#misses = 0;
      return;
    }
    if (++this.#misses < NO_LEADER_CHECKS) return;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const l of listeners) l();
  }

  /** Streams still watched for (tests, metrics). */
  get size(): number {
    return this.#listeners.size;
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }
}
