/** Public surface of the raft library. */
export * from '../raftpb/types.js';
export * from './messages.js';
export * from './codec.js';
export { MemoryStorage, type Storage, type InitialState, entrySize, limitSize } from './storage.js';
export { SeededRng, type Rng } from './rng.js';
export { ReadOnlyOption } from './read-only.js';
export { ProgressState } from './progress.js';
export { Raft, NONE, CampaignType, type Config } from './raft.js';
export { RawNode, type Status } from './raw-node.js';
export { describeConfig } from './tracker.js';
