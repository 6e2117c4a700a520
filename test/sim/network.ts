/**
 * The simulated network: per-message drop, duplicate and delay (hence reorder), and
 * partitions as a set of blocked directed links (symmetric = both directions).
 */
import type { SeededRng } from '../../src/raft/rng.js';
import type { NodeId } from '../../src/raftpb/types.js';

export interface NetworkOptions {
  dropProbability: number;
  duplicateProbability: number;
  delayMin: number;
  delayMax: number;
}

export class Network {
  private blocked = new Set<string>();

  constructor(
    public options: NetworkOptions,
    private readonly rng: SeededRng,
  ) {}

  private static link(from: NodeId, to: NodeId): string {
    return `${from}>${to}`;
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(Network.link(from, to));
  }

  /** Splits nodes into two sides that cannot talk to each other. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.block(x, y);
        this.block(y, x);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(Network.link(from, to));
  }

  describe(): string {
    return this.blocked.size === 0 ? 'healed' : [...this.blocked].sort().join(' ');
  }

  /** Delivery delays for one message: [] = dropped, two entries = duplicated. */
  plan(from: NodeId, to: NodeId): number[] {
    if (this.isBlocked(from, to)) return [];
    if (this.rng.chance(this.options.dropProbability)) return [];
    const d = (): number => this.rng.range(this.options.delayMin, this.options.delayMax);
    if (this.rng.chance(this.options.duplicateProbability)) return [d(), d()];
    return [d()];
  }
}
