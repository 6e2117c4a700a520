/**
 * The sending half of the peer transport: one long-lived HTTP/2 stream to one peer
 * (docs/cluster.md, "The HTTP/2 peer transport"; etcd's rafthttp stream writer).
 *
 *   enqueue(frame) -> queue --(one write per event-loop turn, after the peer's 200)--> POST /raft/stream
 *                     bounded by MAX_QUEUED_BYTES      paused while write() returned false, until 'drain'
 *
 * States: idle (no stream) -> opening (request sent, waiting for the 200) -> open; any failure
 * -> down for RECONNECT_DELAY_MS (messages dropped) -> idle, and the next message opens again.
 * Frames are written only to a stream the peer accepted, in enqueue order.
 */
import * as http2 from 'node:http2';
import type { NodeId } from '../../raftpb/types.js';
import { idToHex } from '../../util/pure/id64.js';

/** Path of the long-lived message stream. */
export const RAFT_STREAM_PATH = '/raft/stream';
/**
 * Bytes queued (not yet written) for one peer before messages to it are dropped: a few full
 * MsgApps (1 MiB each). The counter `dropped` growing under load says this is too small (or the
 * peer too slow). Also the largest frame a receiver accepts.
 */
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** Wait after a broken stream before opening a new one (messages are dropped meanwhile). */
export const RECONNECT_DELAY_MS = 100;
/** A stream not accepted, or not drained, in this time is broken (the peer is stuck or gone). */
export const STREAM_STALL_MS = 5000;

/** What a PeerStream needs from its transport. */
export interface PeerStreamOwner {
  readonly clusterId: bigint;
  readonly memberId: NodeId;
  countSent(n: number): void;
  countDropped(n: number): void;
  onError(msg: string, fields: Record<string, unknown>): void;
  /** Opens a client session to `url` (TLS or not, the transport knows). */
  connect(url: string): http2.ClientHttp2Session;
  /** The peer answered 410: this member was removed from the cluster (etcd's errMemberRemoved). */
  onRemovedByPeer(peer: NodeId): void;
}

export class PeerStream {
  readonly #owner: PeerStreamOwner;
  readonly #to: NodeId;
  readonly url: string;
  #session: http2.ClientHttp2Session | undefined;
  #stream: http2.ClientHttp2Stream | undefined;
  /** The peer answered 200 on #stream. */
  #open = false;
  /** write() returned false: wait for 'drain'. */
  #blocked = false;
  #flushScheduled = false;
  /** Encoded messages not written yet, in order. */
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #downUntilMs = 0;
  /** Fires when the stream waited too long for its 200 or for 'drain'. */
  #stallTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Since when (Date.now() ms) the current stream is accepted; 0 when there is none. */
  activeSinceMs = 0;

  constructor(owner: PeerStreamOwner, to: NodeId, url: string) {
    this.#owner = owner;
    this.#to = to;
    this.url = url;
  }

  /** Queues one encoded message; false when it is dropped (queue full, peer down, closed). */
  enqueue(frame: Uint8Array): boolean {
    if (this.#closed || Date.now() < this.#downUntilMs) return false;
    if (this.#queuedBytes + frame.length > MAX_QUEUED_BYTES) return false;
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#stream === undefined) this.#openStream();
    else if (this.#open && !this.#blocked && !this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
    return true;
  }

  /** Opens the stream if there is none (no message needed): its 200 makes the peer active. */
  probe(): void {
    if (this.#closed || this.#stream !== undefined || Date.now() < this.#downUntilMs) return;
    this.#openStream();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owner.countDropped(this.#queue.length);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#clearStall();
    this.#stream = undefined;
    this.#session?.destroy();
    this.#session = undefined;
    this.activeSinceMs = 0;
  }

  #openStream(): void {
    let stream: http2.ClientHttp2Stream;
    try {
      if (this.#session === undefined || this.#session.closed || this.#session.destroyed) {
        const s = this.#owner.connect(this.url);
        s.on('error', (err) => this.#owner.onError('peer connection failed', { peer: idToHex(this.#to), url: this.url, error: err.message }));
        // Its streams see the failure too ('error'/'close'), which is where it is handled.
        s.on('close', () => {
          if (this.#session === s) this.#session = undefined;
        });
        s.unref();
        this.#session = s;
      }
      stream = this.#session.request({
        ':method': 'POST',
        ':path': RAFT_STREAM_PATH,
        'content-type': 'application/octet-stream',
        'x-etcd-cluster-id': idToHex(this.#owner.clusterId),
        'x-server-from': idToHex(this.#owner.memberId),
        'x-raft-to': idToHex(this.#to),
      });
    } catch (err) {
      this.#broken(err instanceof Error ? err.message : String(err));
      return;
    }
    this.#stream = stream;
    this.#open = false;
    this.#blocked = false;
    this.#armStall('no answer to the stream');
    stream.on('response', (h) => {
      if (this.#stream !== stream) return;
      const status = Number(h[':status']);
      if (status === 200) {
        this.#clearStall();
        this.#open = true;
        this.activeSinceMs = Date.now();
        this.#flush();
        return;
      }
      if (status === 410) this.#owner.onRemovedByPeer(this.#to);
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (text += c));
      stream.on('end', () => this.#broken(`HTTP ${status}: ${text}`, stream));
    });
    stream.on('drain', () => {
      if (this.#stream !== stream) return;
      this.#blocked = false;
      this.#clearStall();
      this.#flush();
    });
    stream.on('error', (err) => this.#broken(err.message, stream));
    stream.on('close', () => this.#broken(`stream closed (code ${stream.rstCode ?? 0})`, stream));
    // The receiver answers nothing after its headers but its end; keep the readable side flowing.
    stream.on('data', () => undefined);
  }

  /** Writes everything queued as one write (once the stream is accepted and not blocked). */
  #flush(): void {
    const stream = this.#stream;
    if (stream === undefined || !this.#open || this.#blocked || this.#queue.length === 0) return;
    const frames = this.#queue;
    const body = Buffer.allocUnsafe(this.#queuedBytes + 4 * frames.length);
    this.#queue = [];
    this.#queuedBytes = 0;
    let o = 0;
    for (const f of frames) {
      body.writeUInt32BE(f.length, o);
      body.set(f, o + 4);
      o += 4 + f.length;
    }
    this.#owner.countSent(frames.length);
    if (!stream.write(body)) {
      this.#blocked = true;
      this.#armStall('the peer does not read the stream');
    }
  }

  /** Stream `which` (undefined: opening it threw) failed: drop, log, back off. Once per stream. */
  #broken(reason: string, which?: http2.ClientHttp2Stream): void {
    if (which !== this.#stream) return;
    const count = this.#queue.length;
    this.#owner.countDropped(count);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#clearStall();
    this.#stream = undefined;
    this.#open = false;
    this.#blocked = false;
    this.activeSinceMs = 0;
    if (this.#closed) return;
    this.#owner.onError('dropped messages to a peer', { peer: idToHex(this.#to), count, reason });
    const s = this.#session;
    this.#session = undefined;
    s?.destroy();
    this.#downUntilMs = Date.now() + RECONNECT_DELAY_MS;
  }

  #armStall(reason: string): void {
    this.#clearStall();
    const stream = this.#stream;
    this.#stallTimer = setTimeout(() => this.#broken(`${reason} in ${STREAM_STALL_MS} ms`, stream), STREAM_STALL_MS);
    this.#stallTimer.unref();
  }

  #clearStall(): void {
    if (this.#stallTimer !== undefined) clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }
}
