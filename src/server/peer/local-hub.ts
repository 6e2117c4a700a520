/**
 * An in-process PeerTransport (src/server/node/raft-node.ts) for tests: a hub that connects
 * the Raft nodes of several members in one process, with faults a test can switch on.
 *
 *   member A --send--> hub --(encode, links up? drop?, decode, setImmediate)--> member B
 *
 * Every message is encoded and decoded with the Raft wire codec (src/raft/codec.ts), as the
 * HTTP/2 transport will do, so no object is shared between members. Delivery is asynchronous
 * (one event-loop turn later) and keeps the send order per pair of members.
 */
import { decodeMessage, encodeMessage, type Message } from '../../raft/index.js';
import type { NodeId } from '../../raftpb/types.js';
import type { PeerTransport } from '../node/raft-node.js';

export class LocalPeerHub {
  readonly #members = new Map<NodeId, LocalPeerTransport>();
  /** Members cut off from everyone. */
  readonly #isolated = new Set<NodeId>();
  /** Partition groups: a message passes only between members of the same group. Empty: no partition. */
  #groups: NodeId[][] = [];
  /** Extra loss, decided per message (for example a seeded random drop). */
  #drop: ((m: Message) => boolean) | undefined;
  /** Messages delivered and dropped (for tests and debugging). */
  delivered = 0;
  dropped = 0;

  /** The transport of member `id`; a member that joins again (restart) replaces the old one. */
  join(id: NodeId): LocalPeerTransport {
    const t = new LocalPeerTransport(this, id);
    this.#members.set(id, t);
    return t;
  }

  /** Cuts `id` off from every other member (both directions). */
  isolate(id: NodeId): void {
    this.#isolated.add(id);
  }

  /** Splits the members into groups that cannot reach each other. */
  partition(...groups: NodeId[][]): void {
    this.#groups = groups;
  }

  /** Drops each message for which `fn` is true (undefined: none). */
  setDrop(fn: ((m: Message) => boolean) | undefined): void {
    this.#drop = fn;
  }

  /** Removes every fault. */
  heal(): void {
    this.#isolated.clear();
    this.#groups = [];
    this.#drop = undefined;
  }

  /** @internal */
  deliver(from: LocalPeerTransport, messages: readonly Message[]): void {
    for (const m of messages) {
      const to = this.#members.get(m.to);
      if (to === undefined || to.closed || !this.#linkUp(m.from, m.to) || this.#drop?.(m) === true) {
        this.dropped++;
        continue;
      }
      const bytes = encodeMessage(m);
      setImmediate(() => {
        // The link may have gone down, or either side closed, while the message was in flight.
        if (to.closed || from.closed || this.#members.get(m.to) !== to || !this.#linkUp(m.from, m.to)) {
          this.dropped++;
          return;
        }
        this.delivered++;
        to.receive(decodeMessage(bytes));
      });
    }
  }

  #linkUp(a: NodeId, b: NodeId): boolean {
    if (this.#isolated.has(a) || this.#isolated.has(b)) return false;
    if (this.#groups.length === 0) return true;
    return this.#groups.some((g) => g.includes(a) && g.includes(b));
  }
}

export class LocalPeerTransport implements PeerTransport {
  readonly #hub: LocalPeerHub;
  readonly id: NodeId;
  #handler: ((m: Message) => void) | undefined;
  closed = false;

  constructor(hub: LocalPeerHub, id: NodeId) {
    this.#hub = hub;
    this.id = id;
  }

  send(messages: readonly Message[]): void {
    if (!this.closed) this.#hub.deliver(this, messages);
  }

  onReceive(handler: (m: Message) => void): void {
    this.#handler = handler;
  }

  close(): void {
    this.closed = true;
  }

  /** @internal */
  receive(m: Message): void {
    if (!this.closed) this.#handler?.(m);
  }
}
