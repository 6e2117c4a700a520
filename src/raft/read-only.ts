/**
 * Pending linearizable reads at the leader (etcd: read_only.go).
 *
 * ReadOnlySafe: the read index is the commit index at request time, released once a
 * quorum answered a heartbeat carrying the request context (leadership confirmed).
 * ReadOnlyLeaseBased: answered at once, relying on check-quorum's leader lease
 * (only valid together with checkQuorum; Config validation enforces this).
 */
import type { Message } from './messages.js';
import type { Index, NodeId } from '../raftpb/types.js';

export enum ReadOnlyOption {
  Safe = 0,
  LeaseBased = 1,
}

export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: Index;
  readonly acks: Map<NodeId, boolean>;
}

/** Request contexts are compared as byte strings. */
export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]!);
  return s;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Records a read request at commit index `index`; `m.entries[0].data` is its context. */
  addRequest(index: Index, m: Message): void {
    const key = ctxKey(m.entries[0]!.data);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Map() });
    this.queue.push(key);
  }

  /** Records a heartbeat ack carrying ctx; returns the acks so far (undefined if unknown). */
  recvAck(id: NodeId, ctx: Uint8Array): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Dequeues the request with ctx and every request queued before it. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.queue.splice(0, at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of keys) {
      const rs = this.pending.get(k);
      if (rs) {
        out.push(rs);
        this.pending.delete(k);
      }
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | null {
    if (this.queue.length === 0) return null;
    return this.pending.get(this.queue[this.queue.length - 1]!)!.req.entries[0]!.data;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
