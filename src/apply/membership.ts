/**
 * Cluster membership as a deterministic state machine over the log (docs/cluster.md,
 * "Runtime membership"). Pure: the applier runs it on every member in log order, so every member
 * reaches the same members, the same verdicts and the same Raft configuration.
 *
 * A membership change travels as a ConfChangeV2 entry (src/raft) whose context is
 * `encodeMemberChange(change)`: JSON naming the request, the operation and the member.
 *
 *   op        raft change          checks (etcd's ValidateConfigurationChange)
 *   add       AddNode / AddLearner id removed -> not found; id exists -> member exists; a peer URL
 *                                  taken -> peer URLs exist; a second learner -> too many learners;
 *                                  a voter whose addition leaves fewer started voters than a
 *                                  quorum -> not enough started members
 *   remove    RemoveNode           id removed or unknown -> member not found; a voter whose removal
 *                                  leaves fewer started voters than a quorum -> not enough started
 *   update    UpdateNode (no-op)   id removed or unknown -> member not found; a peer URL of
 *                                  another member -> peer URLs exist
 *   promote   AddNode              unknown -> member not found; not a learner -> not a learner
 *   attrs     UpdateNode (no-op)   unknown or removed -> ignored (a member publishing its name
 *                                  and client URLs after it was removed)
 *
 * A rejected change leaves the state and the Raft configuration as they are.
 *
 * The quorum checks are etcd's --strict-reconfig-check rules. etcd makes them before proposing
 * only, so two changes checked against the same state can both pass (two members added at once
 * to a cluster of three, with one started member to spare, leave it without a quorum); here
 * they are made again at apply, in log order, where each change sees the one before it.
 */
import type { MemberId, RequestId } from '../util/pure/id64.js';

export interface MemberRecord {
  readonly id: MemberId;
  /** '' until the member publishes its attributes ("unstarted" in etcdctl member list). */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MembershipState {
  /** Sorted by ID. */
  readonly members: readonly MemberRecord[];
  /** IDs removed from the cluster: never again a member. */
  readonly removed: readonly MemberId[];
}

/**
 * `lax`: the proposer runs with --strict-reconfig-check=false, so the quorum rules are not applied
 * to this change (the choice travels in the entry, so every member decides alike).
 */
export type MemberChange =
  | { readonly op: 'add'; readonly member: MemberRecord; readonly lax?: boolean }
  | { readonly op: 'remove'; readonly id: MemberId; readonly lax?: boolean }
  | { readonly op: 'update'; readonly id: MemberId; readonly peerUrls: readonly string[] }
  | { readonly op: 'promote'; readonly id: MemberId }
  | { readonly op: 'attrs'; readonly id: MemberId; readonly name: string; readonly clientUrls: readonly string[] };

/** A change with the request that made it (0n: none, e.g. the bootstrap entries). */
export interface MemberChangeRequest {
  readonly requestId: RequestId;
  readonly change: MemberChange;
}

/** etcd's limit on learners in a cluster (maxLearners). */
export const MAX_LEARNERS = 1;

export const EMPTY_MEMBERSHIP: MembershipState = { members: [], removed: [] };

/** Error codes of src/errors/errors.ts. */
export type MembershipErrorCode =
  | 'ETCD_ERR_MEMBER_EXIST'
  | 'ETCD_ERR_MEMBER_PEER_URL_EXIST'
  | 'ETCD_ERR_MEMBER_NOT_FOUND'
  | 'ETCD_ERR_MEMBER_NOT_LEARNER'
  | 'ETCD_ERR_MEMBER_TOO_MANY_LEARNERS'
  | 'ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED';

/** What the Raft configuration does for an accepted change. */
export type RaftMembershipChange = 'add-voter' | 'add-learner' | 'remove' | 'none';

export interface MembershipVerdict {
  readonly state: MembershipState;
  /** Set when the change is refused; `state` is then the old one. */
  readonly error?: MembershipErrorCode;
  readonly raft: RaftMembershipChange;
}

export function memberById(s: MembershipState, id: MemberId): MemberRecord | undefined {
  return s.members.find((m) => m.id === id);
}

/** Applies one change (see the table in the file comment). */
export function applyMemberChange(s: MembershipState, c: MemberChange): MembershipVerdict {
  const refuse = (error: MembershipErrorCode): MembershipVerdict => ({ state: s, error, raft: 'none' });
  const removed = (id: MemberId): boolean => s.removed.includes(id);
  const urlTaken = (urls: readonly string[], except: MemberId): boolean =>
    s.members.some((m) => m.id !== except && m.peerUrls.some((u) => urls.includes(u)));
  const withMembers = (members: MemberRecord[]): MembershipState => ({ members: members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), removed: s.removed });
  switch (c.op) {
    case 'add': {
      const m = c.member;
      if (removed(m.id)) return refuse('ETCD_ERR_MEMBER_NOT_FOUND');
      if (memberById(s, m.id) !== undefined) return refuse('ETCD_ERR_MEMBER_EXIST');
      if (urlTaken(m.peerUrls, m.id)) return refuse('ETCD_ERR_MEMBER_PEER_URL_EXIST');
      if (m.isLearner && s.members.filter((x) => x.isLearner).length >= MAX_LEARNERS) return refuse('ETCD_ERR_MEMBER_TOO_MANY_LEARNERS');
      if (!m.isLearner && c.lax !== true && !readyToAddVoter(s, m)) return refuse('ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED');
      return { state: withMembers([...s.members, m]), raft: m.isLearner ? 'add-learner' : 'add-voter' };
    }
    case 'remove': {
      const m = memberById(s, c.id);
      if (removed(c.id) || m === undefined) return refuse('ETCD_ERR_MEMBER_NOT_FOUND');
      if (!m.isLearner && c.lax !== true && !readyToRemoveVoter(s, c.id)) return refuse('ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED');
      return { state: { members: s.members.filter((m) => m.id !== c.id), removed: [...s.removed, c.id].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) }, raft: 'remove' };
    }
    case 'update': {
      const m = memberById(s, c.id);
      if (removed(c.id) || m === undefined) return refuse('ETCD_ERR_MEMBER_NOT_FOUND');
      if (urlTaken(c.peerUrls, c.id)) return refuse('ETCD_ERR_MEMBER_PEER_URL_EXIST');
      return { state: withMembers(s.members.map((x) => (x.id === c.id ? { ...x, peerUrls: [...c.peerUrls] } : x))), raft: 'none' };
    }
    case 'promote': {
      const m = memberById(s, c.id);
      if (removed(c.id) || m === undefined) return refuse('ETCD_ERR_MEMBER_NOT_FOUND');
      if (!m.isLearner) return refuse('ETCD_ERR_MEMBER_NOT_LEARNER');
      return { state: withMembers(s.members.map((x) => (x.id === c.id ? { ...x, isLearner: false } : x))), raft: 'add-voter' };
    }
    case 'attrs': {
      if (memberById(s, c.id) === undefined) return { state: s, raft: 'none' };
      return { state: withMembers(s.members.map((x) => (x.id === c.id ? { ...x, name: c.name, clientUrls: [...c.clientUrls] } : x))), raft: 'none' };
    }
  }
}

/** Voters and learners of a state (the Raft configuration it implies). */
export function confStateOf(s: MembershipState): { voters: MemberId[]; learners: MemberId[] } {
  return { voters: s.members.filter((m) => !m.isLearner).map((m) => m.id), learners: s.members.filter((m) => m.isLearner).map((m) => m.id) };
}

/** A member counts as started once it published its name (etcd's IsStarted). */
export function isStarted(m: MemberRecord): boolean {
  return m.name !== '';
}

const quorum = (n: number): number => Math.floor(n / 2) + 1;

function voters(s: MembershipState): MemberRecord[] {
  return s.members.filter((m) => !m.isLearner);
}

/**
 * etcd's IsReadyToAddVotingMember: after adding the voter, a quorum is started. A member added
 * with `etcdctl member add` is not started yet; an initial member (the bootstrap entries, which
 * carry its name) is.
 */
export function readyToAddVoter(s: MembershipState, added?: MemberRecord): boolean {
  const v = voters(s);
  const started = v.filter(isStarted).length + (added !== undefined && isStarted(added) ? 1 : 0);
  const n = v.length + 1;
  if (started === 1 && n === 2) return true; // a one-member cluster may always add its second
  return started >= quorum(n);
}

/** etcd's IsReadyToRemoveVotingMember: after removing `id`, a quorum of the rest is started. */
export function readyToRemoveVoter(s: MembershipState, id: MemberId): boolean {
  const rest = voters(s).filter((m) => m.id !== id);
  return rest.filter(isStarted).length >= quorum(rest.length);
}

/** etcd's IsReadyToPromoteMember: the learner counts as a started voter. */
export function readyToPromote(s: MembershipState): boolean {
  const v = voters(s);
  return v.filter(isStarted).length + 1 >= quorum(v.length + 1);
}

// ---- encoding (JSON; IDs as hex strings, since JSON has no 64-bit integers) ----

interface MemberJson {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

const hex = (id: bigint): string => id.toString(16);

function parseHexId(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^[0-9a-f]{1,16}$/.test(v)) throw new Error(`membership: bad ${what} ${JSON.stringify(v)}`);
  return BigInt(`0x${v}`);
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`membership: bad ${what}`);
  return v as string[];
}

function memberToJson(m: MemberRecord): MemberJson {
  return { id: hex(m.id), name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: m.isLearner };
}

function memberFromJson(v: unknown): MemberRecord {
  if (typeof v !== 'object' || v === null) throw new Error('membership: bad member');
  const o = v as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || typeof o['isLearner'] !== 'boolean') throw new Error('membership: bad member fields');
  return { id: parseHexId(o['id'], 'member ID'), name: o['name'], peerUrls: strings(o['peerUrls'], 'peer URLs'), clientUrls: strings(o['clientUrls'], 'client URLs'), isLearner: o['isLearner'] };
}

export function encodeMembership(s: MembershipState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ members: s.members.map(memberToJson), removed: s.removed.map(hex) }));
}

export function decodeMembership(b: Uint8Array): MembershipState {
  const o = JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
  if (!Array.isArray(o['members']) || !Array.isArray(o['removed'])) throw new Error('membership: bad state');
  return { members: o['members'].map(memberFromJson), removed: o['removed'].map((r) => parseHexId(r, 'removed ID')) };
}

export function encodeMemberChange(r: MemberChangeRequest): Uint8Array {
  const c = r.change;
  const body: Record<string, unknown> = { req: hex(r.requestId), op: c.op };
  switch (c.op) {
    case 'add':
      body['member'] = memberToJson(c.member);
      if (c.lax === true) body['lax'] = true;
      break;
    case 'remove':
      body['id'] = hex(c.id);
      if (c.lax === true) body['lax'] = true;
      break;
    case 'promote':
      body['id'] = hex(c.id);
      break;
    case 'update':
      body['id'] = hex(c.id);
      body['peerUrls'] = [...c.peerUrls];
      break;
    case 'attrs':
      body['id'] = hex(c.id);
      body['name'] = c.name;
      body['clientUrls'] = [...c.clientUrls];
      break;
  }
  return new TextEncoder().encode(JSON.stringify(body));
}

/** Throws on anything that is not a change encoded by encodeMemberChange. */
export function decodeMemberChange(b: Uint8Array): MemberChangeRequest {
  const o = JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
  const requestId = parseHexId(o['req'], 'request ID');
  switch (o['op']) {
    case 'add':
      return { requestId, change: { op: 'add', member: memberFromJson(o['member']), ...(o['lax'] === true ? { lax: true } : {}) } };
    case 'remove':
      return { requestId, change: { op: 'remove', id: parseHexId(o['id'], 'member ID'), ...(o['lax'] === true ? { lax: true } : {}) } };
    case 'promote':
      return { requestId, change: { op: 'promote', id: parseHexId(o['id'], 'member ID') } };
    case 'update':
      return { requestId, change: { op: 'update', id: parseHexId(o['id'], 'member ID'), peerUrls: strings(o['peerUrls'], 'peer URLs') } };
    case 'attrs':
      if (typeof o['name'] !== 'string') throw new Error('membership: bad name');
      return { requestId, change: { op: 'attrs', id: parseHexId(o['id'], 'member ID'), name: o['name'], clientUrls: strings(o['clientUrls'], 'client URLs') } };
    default:
      throw new Error(`membership: unknown op ${JSON.stringify(o['op'])}`);
  }
}

/** The outcome of a membership entry as it crosses back to the main thread (ApplyOutcome.response). */
export interface MembershipOutcome {
  readonly state: MembershipState;
  readonly change: MemberChange;
  readonly raft: RaftMembershipChange;
}

export function encodeMembershipOutcome(o: MembershipOutcome): Uint8Array {
  const change = decodeMemberChangeJson(encodeMemberChange({ requestId: 0n, change: o.change }));
  return new TextEncoder().encode(JSON.stringify({ state: JSON.parse(new TextDecoder().decode(encodeMembership(o.state))), change, raft: o.raft }));
}

export function decodeMembershipOutcome(b: Uint8Array): MembershipOutcome {
  const o = JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
  const enc = new TextEncoder();
  const state = decodeMembership(enc.encode(JSON.stringify(o['state'])));
  const change = decodeMemberChange(enc.encode(JSON.stringify(o['change']))).change;
  const raft = o['raft'];
  if (raft !== 'add-voter' && raft !== 'add-learner' && raft !== 'remove' && raft !== 'none') throw new Error('membership: bad raft change');
  return { state, change, raft };
}

function decodeMemberChangeJson(b: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(b));
}
