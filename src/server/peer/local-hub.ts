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
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { decodeMessage, encodeMessage, type Message } from '../../raft/index.js';
import type { NodeId } from '../../raftpb/types.js';
import type { PeerTransport, SnapshotBody } from '../node/raft-node.js';
import { encodeSnapshotHead } from './snapshot-transfer.js';

type SnapshotHandler = (body: SnapshotBody, from: NodeId) => Promise<{ status: number; body: Uint8Array }>;

export class LocalPeerHub {
  readonly #members = new Map<NodeId, LocalPeerTransport>();
  /** Members cut off from everyone. */
  readonly #isolated = new Set<NodeId>();
  /** Partition groups: a message passes only between members of the same group. Empty: no partition. */
  #groups: NodeId[][] = [];
  /** Extra loss, decided per message (for example a seeded random drop). */
  #drop: ((m: Message) => boolean) | undefined;
  #cutSnapshot: ((m: Message) => boolean) | undefined;
  /** Messages delivered and dropped (for tests and debugging). */
  delivered = 0;
  dropped = 0;
  /**
   * With `snapshots`, transports have the snapshot path too: the body (docs/cluster.md's wire
   * format, checksum included) is streamed through memory to the other member's handler.
   */
  constructor(readonly opts: { readonly snapshots?: boolean } = {}) {}

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

  /** Snapshot bodies for which `fn` is true end half way (a transfer cut off). */
  setSnapshotCut(fn: ((m: Message) => boolean) | undefined): void {
    this.#cutSnapshot = fn;
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

  /** @internal */
  async deliverSnapshot(from: LocalPeerTransport, m: Message, path: string, sizeBytes: number): Promise<void> {
    const to = this.#members.get(m.to);
    const handler = to?.snapshotHandler;
    if (to === undefined || to.closed || handler === undefined || !this.#linkUp(m.from, m.to) || this.#drop?.(m) === true) {
      throw new Error(`snapshot to ${m.to.toString(16)}: unreachable`);
    }
    const body = new PassThrough();
    const answer = handler(body, from.id);
    const hash = createHash('sha256');
    const head = encodeSnapshotHead(m, sizeBytes);
    hash.update(head);
    body.write(head);
    const cutAt = this.#cutSnapshot?.(m) === true ? Math.floor(sizeBytes / 2) : undefined;
    let sent = 0;
    for await (const chunk of createReadStream(path)) {
      if (!this.#linkUp(m.from, m.to) || to.closed) {
        body.destroy(new Error('link down'));
        break;
      }
      if (cutAt !== undefined && sent + (chunk as Buffer).length > cutAt) {
        body.end((chunk as Buffer).subarray(0, cutAt - sent)); // ends early: a truncated body
        break;
      }
      sent += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
      if (!body.write(chunk)) await new Promise((r) => body.once('drain', r));
    }
    if (!body.destroyed && !body.writableEnded) body.end(hash.digest());
    const r = await answer;
    if (r.status !== 204) throw new Error(`snapshot to ${m.to.toString(16)}: ${r.status} ${Buffer.from(r.body).toString()}`);
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
  /** @internal */
  snapshotHandler: SnapshotHandler | undefined;
  readonly sendSnapshot?: (m: Message, path: string, sizeBytes: number) => Promise<void>;
  readonly onSnapshot?: (handler: SnapshotHandler) => void;

  constructor(hub: LocalPeerHub, id: NodeId) {
    this.#hub = hub;
    this.id = id;
    if (hub.opts.snapshots === true) {
      this.sendSnapshot = (m, path, sizeBytes) => (this.closed ? Promise.reject(new Error('closed')) : hub.deliverSnapshot(this, m, path, sizeBytes));
      this.onSnapshot = (handler) => (this.snapshotHandler = handler);
    }
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
