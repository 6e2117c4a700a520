/**
 * The Cluster service's operations and leadership transfer (docs/cluster.md, "Runtime
 * membership"): the checks etcd makes before a membership change enters the log, then the change
 * through EtcdServer.proposeMembership, answered once its entry is applied.
 *
 * Checks before proposing (etcd's, with its errors):
 * - peer URLs parse as http(s)://host:port, else "given member URLs are invalid";
 * - adding or removing a voter keeps a quorum of started members (a started member has published
 *   its name; etcd's --strict-reconfig-check, always on here), else "re-configuration failed due
 *   to not enough started members";
 * - promoting: only the leader knows the learner's log; a learner whose matched index is below
 *   90 % of the leader's is refused with "can only promote a learner member which is in sync
 *   with leader". A follower forwards the request to the leader over the peer port (etcd's peer
 *   /members/promote) and passes its answer on.
 * - adding: the leader has been connected to every voter for HEALTH_INTERVAL_MS; removing a
 *   voter: enough voters stay connected that long (etcd's isConnectedFullySince and
 *   numConnectedSince), else "unhealthy cluster". Only the leader makes this check: this
 *   transport knows a peer is up from the requests it sends, and followers send little to each
 *   other (etcd keeps streams between all members); the quorum rules at apply still hold;
 * The applier checks the rest (member exists, peer URL taken, too many learners, not a learner)
 * and the quorum rules again, in log order (src/apply/membership.ts).
 */
import { EtcdError, ERRORS, type ErrorCode } from '../errors/errors.js';
import type { etcdserverpb } from '../proto/pb.js';
import { decodeMembership, encodeMembership, memberById, readyToAddVoter, readyToPromote, readyToRemoveVoter, type MembershipState, type MemberRecord } from '../apply/membership.js';
import { computeMemberId } from './identity.js';
import { toPbMember, type EtcdServer } from './etcd-server.js';

/** etcd's readyPercentThreshold: a learner may be promoted once its log is this close to the leader's. */
export const LEARNER_READY_PERCENT = 0.9;
/** How often a leadership transfer is checked for completion. */
const TRANSFER_POLL_MS = 20;
/** Attempts to publish this member's attributes before giving up until the next start (about 10 minutes). */
const PUBLISH_ATTEMPTS_MAX = 600;
/** Pause after a failed attempt (another change pending, no leader yet, a joining member not in the configuration yet), plus up to as much again at random. */
const PUBLISH_RETRY_MS = 500;
/**
 * How long one publication waits for its entry. Members starting together publish at once and
 * Raft keeps one membership change pending: the others are dropped and never apply, so waiting
 * the full request timeout would only delay the retry. A publication that applies after its
 * wait gave up is harmless (the same attributes again).
 */
const PUBLISH_WAIT_MS = 1500;

/**
 * The peer transport as ClusterOps uses it: a follower reaches the leader for a promotion; the
 * health checks ask since when each peer has answered.
 */
export interface PromoteForwarder {
  requestPromote(leader: bigint, id: bigint, timeoutMs: number): Promise<{ status: number; body: Uint8Array }>;
  /** Date.now() ms since which every request to `id` succeeded; 0: not connected. */
  activeSince(id: bigint): number;
}

/**
 * etcd's HealthInterval: a member adds a member only when it has been connected to every voter
 * for this long, and removes a voter only when enough voters stay connected for this long
 * ("etcdserver: unhealthy cluster" otherwise).
 */
export const HEALTH_INTERVAL_MS = 5000;

export class ClusterOps {
  readonly #server: EtcdServer;
  readonly #requestTimeoutMs: number;
  readonly #forwarder: PromoteForwarder | undefined;
  /** --strict-reconfig-check: the quorum and health checks (false: none, here or at apply). */
  readonly #strict: boolean;

  constructor(server: EtcdServer, requestTimeoutMs: number, forwarder?: PromoteForwarder, strict = true) {
    this.#server = server;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#forwarder = forwarder;
    this.#strict = strict;
  }

  /**
   * The leader's side of a forwarded promotion (POST /members/promote/<id>): 200 with the new
   * membership, or 412 with the error code. Never forwards again (leadership may have moved).
   */
  async servePromote(id: bigint): Promise<{ status: number; body: Uint8Array }> {
    try {
      const state = await this.#promoteHere(id);
      return { status: 200, body: encodeMembership(state) };
    } catch (err) {
      const code = err instanceof EtcdError ? err.code : 'ETCD_ERR_SERVER_TIMEOUT';
      return { status: 412, body: Buffer.from(code, 'utf8') };
    }
  }

  /** MemberList; `linearizable` (etcd 3.5+) first waits for a ReadIndex round to be applied here. */
  async list(linearizable = false): Promise<etcdserverpb.IMember[]> {
    if (linearizable) await this.#server.linearizableBarrier();
    return this.#server.members();
  }

  async add(peerUrls: readonly string[], isLearner: boolean): Promise<{ member: etcdserverpb.IMember; members: etcdserverpb.IMember[] }> {
    const urls = checkUrls(peerUrls);
    const state = this.#current();
    if (this.#strict) {
      if (!isLearner && !readyToAddVoter(state)) throw new EtcdError('ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED');
      if (this.#connectedVoters(state) < voterIds(state).length) throw new EtcdError('ETCD_ERR_SERVER_UNHEALTHY');
    }
    const member: MemberRecord = { id: computeMemberId(urls, '', Date.now() / 1000), name: '', peerUrls: urls, clientUrls: [], isLearner };
    const out = await this.#server.proposeMembership({ op: 'add', member, ...(this.#strict ? {} : { lax: true }) });
    return { member: toPbMember(member), members: out.state.members.map(toPbMember) };
  }

  async remove(id: bigint): Promise<etcdserverpb.IMember[]> {
    const state = this.#current();
    const m = memberById(state, id);
    if (m !== undefined && !m.isLearner && this.#strict) {
      if (!readyToRemoveVoter(state, id)) throw new EtcdError('ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED');
      // After the removal, the voters still connected (this member included) must be a quorum of
      // the rest. (etcd subtracts the removed member whether or not it is connected, so it
      // refuses to remove a dead voter from five with two dead; here a dead one does not count.)
      const n = voterIds(state).length;
      const after = this.#connectedVoters(state) - (this.#isConnected(id) ? 1 : 0);
      if (after < 1 + Math.floor((n - 1) / 2)) throw new EtcdError('ETCD_ERR_SERVER_UNHEALTHY');
    }
    const out = await this.#server.proposeMembership({ op: 'remove', id, ...(this.#strict ? {} : { lax: true }) });
    return out.state.members.map(toPbMember);
  }

  async update(id: bigint, peerUrls: readonly string[]): Promise<etcdserverpb.IMember[]> {
    const urls = checkUrls(peerUrls);
    const out = await this.#server.proposeMembership({ op: 'update', id, peerUrls: urls });
    return out.state.members.map(toPbMember);
  }

  async promote(id: bigint): Promise<etcdserverpb.IMember[]> {
    const node = this.#server.node;
    if (node.isLeader() || this.#forwarder === undefined) return (await this.#promoteHere(id)).members.map(toPbMember);
    const leader = node.leaderId ?? 0n;
    if (leader === 0n) throw new EtcdError('ETCD_ERR_RAFT_NO_LEADER');
    let r: { status: number; body: Uint8Array };
    try {
      r = await this.#forwarder.requestPromote(leader, id, this.#requestTimeoutMs);
    } catch {
      throw new EtcdError('ETCD_ERR_SERVER_TIMEOUT');
    }
    if (r.status === 200) return decodeMembership(r.body).members.map(toPbMember);
    const code = Buffer.from(r.body).toString('utf8');
    throw new EtcdError(code in ERRORS ? (code as ErrorCode) : 'ETCD_ERR_SERVER_TIMEOUT');
  }

  async #promoteHere(id: bigint): Promise<MembershipState> {
    const state = this.#current();
    const m = memberById(state, id);
    if (m === undefined) throw new EtcdError('ETCD_ERR_MEMBER_NOT_FOUND');
    if (!m.isLearner) throw new EtcdError('ETCD_ERR_MEMBER_NOT_LEARNER');
    const progress = this.#server.node.progress?.();
    if (progress === undefined) throw new EtcdError('ETCD_ERR_RAFT_NOT_LEADER');
    const learner = progress.get(id);
    const leader = progress.get(this.#server.identity.memberId);
    if (learner === undefined || leader === undefined) throw new EtcdError('ETCD_ERR_MEMBER_NOT_FOUND');
    if (learner.match < leader.match * LEARNER_READY_PERCENT) throw new EtcdError('ETCD_ERR_MEMBER_LEARNER_NOT_READY');
    if (this.#strict && !readyToPromote(state)) throw new EtcdError('ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED');
    const out = await this.#server.proposeMembership({ op: 'promote', id });
    return out.state;
  }

  /**
   * Maintenance.MoveLeader: only the leader hands over, to a voter; resolves once the transferee
   * leads, or fails after the request timeout (etcd: "leader transfer took too long").
   */
  async moveLeader(target: bigint): Promise<void> {
    const node = this.#server.node;
    if (!node.isLeader()) throw new EtcdError('ETCD_ERR_RAFT_NOT_LEADER');
    const m = this.#server.membership === undefined ? undefined : memberById(this.#server.membership, target);
    if (m === undefined || m.isLearner || node.transferLeadership === undefined) throw new EtcdError('ETCD_ERR_SERVER_BAD_LEADER_TRANSFEREE');
    if (target === this.#server.identity.memberId) return;
    node.transferLeadership(target);
    const deadline = Date.now() + this.#requestTimeoutMs;
    while ((node.leaderId ?? 0n) !== target) {
      if (Date.now() > deadline) throw new EtcdError('ETCD_ERR_SERVER_TIMEOUT_LEADER_TRANSFER');
      await sleep(TRANSFER_POLL_MS);
    }
  }

  /**
   * Before a clean stop: a leader hands leadership to the most caught-up voter, so the others do
   * not wait an election timeout (etcd's TransferLeadership on stop). Bounded by `timeoutMs`;
   * a transfer that does not happen in time is given up (the stop goes on).
   */
  async transferOnStop(timeoutMs: number): Promise<bigint | undefined> {
    const node = this.#server.node;
    const progress = node.isLeader() ? node.progress?.() : undefined;
    if (progress === undefined || node.transferLeadership === undefined) return undefined;
    let best: { id: bigint; match: number } | undefined;
    for (const [id, p] of progress) {
      if (id === this.#server.identity.memberId || p.isLearner) continue;
      if (best === undefined || p.match > best.match) best = { id, match: p.match };
    }
    if (best === undefined) return undefined;
    node.transferLeadership(best.id);
    const deadline = Date.now() + timeoutMs;
    while (node.isLeader() && Date.now() < deadline) await sleep(TRANSFER_POLL_MS);
    return node.isLeader() ? undefined : best.id;
  }

  /**
   * Publishes this member's name and client URLs through the log (etcd's "published local member
   * to cluster through raft"), retried while another change is pending; resolves true once the
   * stored membership shows them.
   */
  async publish(name: string, clientUrls: readonly string[], stopped: () => boolean): Promise<boolean> {
    const id = this.#server.identity.memberId;
    for (let attempt = 0; attempt < PUBLISH_ATTEMPTS_MAX && !stopped(); attempt++) {
      const state = this.#server.membership;
      if (state === undefined) {
        // A joining member learns the membership from the leader's log.
        await sleep(PUBLISH_RETRY_MS);
        continue;
      }
      const me = memberById(state, id);
      if (me !== undefined && me.name === name && sameList(me.clientUrls, clientUrls)) return true;
      try {
        await this.#server.proposeMembership({ op: 'attrs', id, name, clientUrls: [...clientUrls] }, PUBLISH_WAIT_MS);
      } catch {
        await sleep(PUBLISH_RETRY_MS * (1 + Math.random()));
      }
    }
    return false;
  }

  /** Voters this member has been connected to for HEALTH_INTERVAL_MS, itself included (all of them on a follower: see the file comment). */
  #connectedVoters(state: MembershipState): number {
    return voterIds(state).filter((id) => this.#isConnected(id)).length;
  }

  #isConnected(id: bigint): boolean {
    if (this.#forwarder === undefined || !this.#server.node.isLeader() || id === this.#server.identity.memberId) return true;
    const since = this.#forwarder.activeSince(id);
    return since !== 0 && since <= Date.now() - HEALTH_INTERVAL_MS;
  }

  #current(): MembershipState {
    const s = this.#server.membership;
    if (s === undefined) throw new EtcdError('ETCD_ERR_CLUSTER_SINGLE_NODE');
    return s;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** etcd's URL rules for peer URLs: http or https, a host and a port, nothing else. */
function checkUrls(urls: readonly string[]): string[] {
  if (urls.length === 0) throw new EtcdError('ETCD_ERR_MEMBER_BAD_URLS');
  const out: string[] = [];
  for (const u of urls) {
    let p: URL;
    try {
      p = new URL(u);
    } catch {
      throw new EtcdError('ETCD_ERR_MEMBER_BAD_URLS');
    }
    if ((p.protocol !== 'http:' && p.protocol !== 'https:') || p.port === '' || p.hostname === '' || (p.pathname !== '/' && p.pathname !== '') || p.search !== '' || p.hash !== '') {
      throw new EtcdError('ETCD_ERR_MEMBER_BAD_URLS');
    }
    out.push(`${p.protocol}//${p.host}`);
  }
  return out;
}

function voterIds(s: MembershipState): bigint[] {
  return s.members.filter((m) => !m.isLearner).map((m) => m.id);
}
