/**
 * --initial-election-tick-advance: at start, fast-forward a member's election clock so the
 * first election does not wait a whole election timeout (etcd's EtcdServer.adjustTicks; the
 * behaviour below is etcd 3.4's and 3.5's, written from their documented semantics):
 *
 *   - one voter in the configuration: advance electionTicks - 1 ticks, whatever the flag (a lone
 *     member has nobody to wait for);
 *   - flag false: log "skipping initial election tick advance" and do nothing;
 *   - flag true: log "starting initial election tick advance", then every POLL_MS for at most
 *     WAIT_MS look at how many peers answer; once MORE THAN ONE does, advance
 *     electionTicks - 2 ticks (two ticks short of the timeout, so a leader's message that is
 *     slow to arrive still wins) and log "initialized peer connections; fast-forwarding election
 *     ticks". If that never happens (peers down, a two-member cluster, which has one peer),
 *     nothing is advanced: the election timeout runs as usual.
 *
 * The election clock still ends at a random point of [electionTicks, 2 * electionTicks), so an
 * advanced member campaigns after 2 to electionTicks + 1 more ticks instead of electionTicks
 * to 2 * electionTicks.
 *
 * Ticking ahead is safe: a follower that hears a leader resets its clock anyway, and pre-vote
 * and check-quorum keep an early campaign from disturbing a healthy leader.
 */

/** How long to wait for peers to answer (etcd's rafthttp ConnReadTimeout, 5 s). */
export const TICK_ADVANCE_WAIT_MS = 5000;
/** How often to look (etcd: 50 ms). */
export const TICK_ADVANCE_POLL_MS = 50;

/** What the tick advance needs of the node and the transport (declared here, by its consumer). */
export interface TickAdvanceTarget {
  readonly electionTicks: number;
  /** Voters in the Raft configuration at start. */
  readonly voterCount: number;
  /** Peers that answered since start (etcd: rafthttp ActivePeers). */
  activePeers(): number;
  /** Make the peers answer something if there is no traffic yet (open the stream to each). */
  probePeers(): void;
  advanceTicks(ticks: number): void;
  /** True once the member stops: the wait ends. */
  stopped(): boolean;
  info(msg: string, fields: Record<string, unknown>): void;
}

/** Runs the advance; resolves with the ticks advanced (0 when none). */
export async function initialTickAdvance(
  enabled: boolean,
  t: TickAdvanceTarget,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms).unref()),
): Promise<number> {
  if (t.voterCount === 1) {
    const ticks = t.electionTicks - 1;
    t.info('started as single-node; fast-forwarding election ticks', { 'forward-ticks': ticks, 'election-ticks': t.electionTicks });
    t.advanceTicks(ticks);
    return ticks;
  }
  if (!enabled) {
    t.info('skipping initial election tick advance', { 'election-ticks': t.electionTicks });
    return 0;
  }
  t.info('starting initial election tick advance', { 'election-ticks': t.electionTicks });
  for (let i = 0; i < TICK_ADVANCE_WAIT_MS / TICK_ADVANCE_POLL_MS; i++) {
    t.probePeers();
    await sleep(TICK_ADVANCE_POLL_MS);
    if (t.stopped()) return 0;
    const peers = t.activePeers();
    if (peers > 1) {
      const ticks = t.electionTicks - 2;
      t.info('initialized peer connections; fast-forwarding election ticks', {
        'forward-ticks': ticks,
        'election-ticks': t.electionTicks,
        'active-remote-members': peers,
      });
      t.advanceTicks(ticks);
      return ticks;
    }
  }
  return 0;
}
