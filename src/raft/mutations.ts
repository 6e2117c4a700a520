/**
 * Deliberate bugs, switchable one at a time, so the simulator can prove on every test run
 * that it catches them (test/sim/mutations.ts; docs/raft.md "Bug injection"). Production
 * code never sets one: Config.mutations defaults to NO_MUTATIONS, and each site costs one
 * property read of a frozen object. The numbers are the rows of docs/raft.md's table.
 */
export interface RaftMutations {
  /** 1. The leader commits by counting replicas of an entry of an older term (§5.4.2 broken). */
  readonly commitOldTerm?: boolean;
  /** 2. A vote is granted without the log up-to-date check (§5.4.1 broken). */
  readonly voteWithoutLogCheck?: boolean;
  /** 3. ReadIndex is answered without the heartbeat round that confirms leadership. */
  readonly readIndexWithoutHeartbeat?: boolean;
  /** 4. A granted vote is not recorded (a node can vote twice in one term). */
  readonly voteNotRecorded?: boolean;
  /** 5. ReadIndex is served before the leader committed an entry of its own term. */
  readonly readIndexBeforeTermCommit?: boolean;
  /** 6. A follower commits up to min(leaderCommit, its lastIndex) instead of the last entry the leader vouched for. */
  readonly followerCommitBeyondVerified?: boolean;
  /** 7. A HardState change that only changes the vote is not handed to storage (lost on crash). */
  readonly voteOnlyHardStateDropped?: boolean;
  /** 8. Heartbeats carry the leader's full commit index instead of min(match, commit). */
  readonly heartbeatFullCommit?: boolean;
}

export type MutationName = keyof RaftMutations;

export const MUTATION_NAMES: readonly MutationName[] = [
  'commitOldTerm',
  'voteWithoutLogCheck',
  'readIndexWithoutHeartbeat',
  'voteNotRecorded',
  'readIndexBeforeTermCommit',
  'followerCommitBeyondVerified',
  'voteOnlyHardStateDropped',
  'heartbeatFullCommit',
];

export const NO_MUTATIONS: RaftMutations = Object.freeze({});
