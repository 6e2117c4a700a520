/**
 * The member-to-member transport on node:http2 (etcd's rafthttp analogue; docs/cluster.md,
 * "The HTTP/2 peer transport"). A PeerTransport (src/server/node/raft-node.ts).
 *
 *   sender                                              receiver (--listen-peer-urls)
 *   send(msgs) -> PeerStream per peer ==POST /raft/stream==> checked once at open: cluster ID,
 *                 (src/server/peer/peer-stream.ts)           addressed member, sender known -> 200
 *                 one long-lived stream, frames written      FrameDecoder: frames across chunks
 *                 as they come, one write per turn           -> onReceive(m) for each, in order
 *
 * Stream: POST /raft/stream, headers
 *   x-etcd-cluster-id: cluster ID (hex)   x-server-from: sender member ID (hex)
 *   x-raft-to: addressed member ID (hex)
 * Answers at open: 200 (headers only; the stream then stays open both ways until the sender ends
 * it); 412 cluster ID mismatch or not the addressed member (the body says which, as etcd's
 * "cluster ID mismatch"); 410 a removed member (it stops on hearing it); 403 unknown sender;
 * 404 other paths. Nothing is written before the 200.
 * Body: frames `u32 big-endian length L (1..MAX_QUEUED_BYTES), encodeMessage(m)`
 * (src/raft/codec.ts), in send order, for the life of the stream. A zero, oversized or
 * undecodable frame resets the stream (PROTOCOL_ERROR) with the log line "closed a peer stream";
 * nothing after the bad frame is delivered. A message whose from/to differ from the headers is
 * skipped.
 * Snapshots go on a path of their own (POST /raft/snapshot, src/server/peer/snapshot-transfer.ts),
 * one session per transfer, after the same header checks.
 *
 * Best effort, as Raft expects of its network: a broken stream drops what is queued (Raft
 * retries through heartbeats and probes), the session is dropped, and for RECONNECT_DELAY_MS
 * messages to that peer are dropped; the next one opens a new stream. A queue holds at most
 * MAX_QUEUED_BYTES per peer; past it messages are dropped (etcd's stream buffer does the same).
 * POST /raft/msgs (one batch per request, answered 204 after the whole body; 400 on a bad frame,
 * nothing delivered) is still served for members of an older etcd-ts; it is not sent to. The
 * wire format is etcd-ts's own: an etcd-ts member cannot talk to an etcd member.
 *
 * TLS (https peer URLs, the --peer-* flags): with `tls` the listener is an HTTP/2 server over
 * TLS (files re-read on each connection; a client refused by the checks after the handshake,
 * such as a missing or unverified certificate under --peer-client-cert-auth, has its session
 * destroyed before any request), and peers whose URL is https:// are dialed with
 * `tls.clientOptions()` (read again for every new session, so rotated files are picked up).
 */
import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type * as tls from 'node:tls';
import { decodeMessage, encodeMessage, type Message } from '../../raft/index.js';
import type { NodeId } from '../../raftpb/types.js';
import { idFromHex, idToHex } from '../../util/pure/id64.js';
import type { PeerTransport, SnapshotBody } from '../node/raft-node.js';
import { FrameDecoder } from './frame-decoder.js';
import { MAX_QUEUED_BYTES, PeerStream, RAFT_STREAM_PATH, type PeerStreamOwner } from './peer-stream.js';
import { postSnapshot, RAFT_SNAPSHOT_PATH } from './snapshot-transfer.js';

export { RAFT_STREAM_PATH } from './peer-stream.js';
/** Path of the one-batch-per-request endpoint (served for older members, not sent to). */
export const RAFT_MSGS_PATH = '/raft/msgs';
/**
 * GET: the cluster as this member knows it, for a member joining with --initial-cluster-state
 * existing (etcd's peer /members): JSON `{"clusterId": hex, "membership": <encodeMembership>}`.
 */
export const MEMBERS_PATH = '/members';
/**
 * POST /members/promote/<hex member ID>, from a member of this cluster (the cluster ID and sender
 * headers as for /raft/msgs): a follower forwards MemberPromote to the leader, which alone knows
 * whether the learner is in sync (etcd's peer /members/promote). Answers 200 with the new
 * membership (encodeMembership), or 412 with an error code of src/errors/errors.ts.
 */
export const PROMOTE_PATH_PREFIX = '/members/promote/';
/**
 * POST /leases/<op>, from a member of this cluster (cluster ID and sender headers as for
 * /raft/msgs): a follower forwards a lease call only the leader's lessor can answer
 * (keep-alive, TimeToLive, Leases), as etcd forwards them to its leader's peer URL. Body and
 * answer are protobuf messages (docs/cluster.md, "Lease calls on a follower").
 */
export const LEASE_PATH_PREFIX = '/leases/';
/**
 * POST /members/hashkv, from a member of this cluster (cluster ID and sender headers as for
 * /raft/msgs): this member's HashKV at a revision, for the corruption checks (etcd's peer
 * /members/hashkv). Body and answer are protobuf (docs/cluster.md, "HashKV between members";
 * src/server/peer/hashkv-forwarding.ts).
 */
export const HASHKV_PATH = '/members/hashkv';
/** The largest /members/hashkv body: a HashKVRequest is at most 11 bytes. */
const MAX_HASHKV_BODY_BYTES = 1024;
/** The largest forwarded lease call body: one request message. */
const MAX_LEASE_BODY_BYTES = 64 * 1024;
/** Largest /members answer a joining member reads. */
const MAX_MEMBERS_BYTES = 4 * 1024 * 1024;
/** Largest /raft/msgs request body accepted (a full queue, plus slack). */
const MAX_BODY_BYTES = 2 * MAX_QUEUED_BYTES;
/** Largest frame on a stream: a message larger than a whole queue is never sent. */
const MAX_FRAME_BYTES = MAX_QUEUED_BYTES;

/**
 * TLS for the peer port, built by the caller from the --peer-* flags (src/api/tls/peer-tls.ts;
 * declared here, by its consumer, so this layer does not import the API layer).
 */
export interface PeerTransportTls {
  /** Options for the listener's first secure context (certificate, key, CA, client certificate request). */
  serverOptions(): tls.TlsOptions;
  /** New context options when the files changed since the last call, else undefined. */
  refresh(): tls.SecureContextOptions | undefined;
  /** After a handshake on the listener: undefined to accept the peer, else why it is refused. */
  check(socket: tls.TLSSocket): string | undefined;
  /** Options for dialing an https:// peer (certificate to present, CA to verify it against). */
  clientOptions(): tls.ConnectionOptions;
}

export interface Http2PeerTransportOptions {
  readonly memberId: NodeId;
  readonly clusterId: bigint;
  /** Where to listen (--listen-peer-urls: host and port; port 0 picks one). */
  readonly listenHost: string;
  readonly listenPort: number;
  /** Peers by member ID: their advertised peer URL (http://host:port). Can be added later. */
  readonly peers?: ReadonlyMap<NodeId, string>;
  /** Where transport problems are told (connection errors, refused requests). */
  readonly onError?: (msg: string, fields: Record<string, unknown>) => void;
  /** Dial https:// peers with it, and listen over TLS when listenTls (undefined: plain http only). */
  readonly tls?: PeerTransportTls;
  /** Listen over TLS (an https --listen-peer-urls); needs tls. */
  readonly listenTls?: boolean;
}

export class Http2PeerTransport implements PeerTransport, PeerStreamOwner {
  readonly memberId: NodeId;
  readonly clusterId: bigint;
  readonly #server: http2.Http2Server | http2.Http2SecureServer;
  readonly #tls: PeerTransportTls | undefined;
  readonly #senders = new Map<NodeId, PeerStream>();
  /** The accepted inbound stream of each sender (a newer one replaces and resets it). */
  readonly #inbound = new Map<NodeId, http2.ServerHttp2Stream>();
  readonly #onError: (msg: string, fields: Record<string, unknown>) => void;
  /** Sessions peers opened to us (closed with the transport). */
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  #handler: ((m: Message) => void) | undefined;
  #membersHandler: (() => Uint8Array | undefined) | undefined;
  #promoteHandler: ((id: NodeId) => Promise<{ status: number; body: Uint8Array }>) | undefined;
  #leaseHandler: ((op: string, body: Buffer) => Promise<{ status: number; body: Uint8Array }>) | undefined;
  #hashKvHandler: ((body: Buffer) => Promise<{ status: number; body: Uint8Array }>) | undefined;
  #snapshotHandler: ((body: SnapshotBody, from: NodeId) => Promise<{ status: number; body: Uint8Array }>) | undefined;
  #closed = false;
  readonly #removed = new Set<NodeId>();
  readonly #removedListeners: (() => void)[] = [];
  #removedTold = false;
  /** Aborts snapshot transfers in flight when the transport closes. */
  readonly #snapshotsAbort = new AbortController();
  /** Counters (tests, metrics later). */
  readonly stats = { sent: 0, received: 0, dropped: 0, refused: 0 };

  private constructor(opts: Http2PeerTransportOptions, server: http2.Http2Server | http2.Http2SecureServer) {
    this.memberId = opts.memberId;
    this.clusterId = opts.clusterId;
    this.#server = server;
    this.#tls = opts.tls;
    this.#onError = opts.onError ?? (() => undefined);
    for (const [id, url] of opts.peers ?? []) this.addPeer(id, url);
    server.on('stream', (stream, headers) => this.#serve(stream, headers));
    server.on('sessionError', () => undefined);
    server.on('session', (session) => {
      this.#sessions.add(session);
      session.on('error', () => undefined);
      session.once('close', () => this.#sessions.delete(session));
      const why = opts.listenTls === true ? this.#tls?.check(session.socket as tls.TLSSocket) : undefined;
      if (why !== undefined) {
        this.stats.refused++;
        this.#onError('rejected connection from a peer', { reason: why, 'remote-addr': session.socket.remoteAddress });
        session.destroy();
      }
    });
    const secure = opts.listenTls === true ? opts.tls : undefined;
    if (secure !== undefined) {
      // Before tls.Server's own handler starts the handshake: pick up rotated files.
      server.prependListener('connection', (_socket: Socket) => {
        const next = secure.refresh();
        if (next !== undefined) (server as http2.Http2SecureServer).setSecureContext(next);
      });
      server.on('tlsClientError', (err: Error) => this.#onError('peer TLS handshake failed', { error: err.message }));
    }
  }

  /** Listens on the peer port; resolves once listening. */
  static listen(opts: Http2PeerTransportOptions): Promise<Http2PeerTransport> {
    if (opts.listenTls === true && opts.tls === undefined) throw new Error('peer transport: listenTls needs tls');
    const server = opts.listenTls !== true || opts.tls === undefined ? http2.createServer() : http2.createSecureServer({ ...opts.tls.serverOptions(), allowHTTP1: false });
    const t = new Http2PeerTransport(opts, server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listenPort, opts.listenHost, () => {
        server.off('error', reject);
        resolve(t);
      });
    });
  }

  /** The port listened on (when 0 was asked). */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The URL messages to `id` go to (undefined: not a peer). */
  peerUrl(id: NodeId): string | undefined {
    return this.#senders.get(id)?.url;
  }

  peerIds(): NodeId[] {
    return [...this.#senders.keys()];
  }

  /**
   * Since when (Date.now() ms) the current stream to peer `id` is accepted; 0 when there is none
   * (etcd's peer "active since", for its health checks).
   */
  activeSince(id: NodeId): number {
    return this.#senders.get(id)?.activeSinceMs ?? 0;
  }

  /**
   * Members removed from the cluster (the membership's `removed`): their streams are refused with
   * 410 "the member has been permanently removed from the cluster", which tells such a member to
   * stop (etcd answers StatusGone the same way), since it may never see its own removal applied.
   */
  setRemoved(ids: Iterable<NodeId>): void {
    for (const id of ids) this.#removed.add(id);
  }

  /** Calls `listener` once when a peer answers 410 (this member was removed). */
  onRemoved(listener: () => void): void {
    this.#removedListeners.push(listener);
  }

  onRemovedByPeer(peer: NodeId): void {
    if (this.#removedTold) return;
    this.#removedTold = true;
    this.#onError('the member has been permanently removed from the cluster', { peer: idToHex(peer) });
    for (const l of this.#removedListeners) l();
  }

  /** Peers whose stream is accepted now (etcd's rafthttp ActivePeers; --initial-election-tick-advance). */
  activePeers(): number {
    let n = 0;
    for (const s of this.#senders.values()) if (s.activeSinceMs > 0) n++;
    return n;
  }

  /** Opens the stream to every peer that has none yet, so activePeers() learns who answers. */
  probePeers(): void {
    for (const s of this.#senders.values()) s.probe();
  }

  /** Stops sending to `id` and refuses its requests (a removed member). */
  removePeer(id: NodeId): void {
    this.#senders.get(id)?.close();
    this.#senders.delete(id);
    // Its stream to us was accepted when it was a member: end it (a new one is refused, 403).
    this.#inbound.get(id)?.close(http2.constants.NGHTTP2_CANCEL);
    this.#inbound.delete(id);
  }

  /** What GET /members answers (the encoded cluster), or undefined for 503. */
  onMembersRequest(handler: () => Uint8Array | undefined): void {
    this.#membersHandler = handler;
  }

  /** Serves POST /members/promote/<id> (see PROMOTE_PATH_PREFIX). */
  onPromoteRequest(handler: (id: NodeId) => Promise<{ status: number; body: Uint8Array }>): void {
    this.#promoteHandler = handler;
  }

  /** Asks peer `to` (the leader) to promote learner `id`: its status and body. Rejects when it cannot be reached. */
  requestPromote(to: NodeId, id: NodeId, timeoutMs: number): Promise<{ status: number; body: Buffer }> {
    const url = this.peerUrl(to);
    if (url === undefined) return Promise.reject(new Error(`peer ${idToHex(to)} is unknown`));
    return peerRequest(url, this.#tls, {
      ':method': 'POST',
      ':path': `${PROMOTE_PATH_PREFIX}${idToHex(id)}`,
      'x-etcd-cluster-id': idToHex(this.clusterId),
      'x-server-from': idToHex(this.memberId),
      'x-raft-to': idToHex(to),
    }, timeoutMs);
  }

  /** Serves POST /leases/<op> (see LEASE_PATH_PREFIX). */
  onLeaseRequest(handler: (op: string, body: Buffer) => Promise<{ status: number; body: Uint8Array }>): void {
    this.#leaseHandler = handler;
  }

  /** Forwards lease call `op` to peer `to` (the leader): its status and body. Rejects when it cannot be reached. */
  requestLease(to: NodeId, op: string, body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Buffer }> {
    const url = this.peerUrl(to);
    if (url === undefined) return Promise.reject(new Error(`peer ${idToHex(to)} is unknown`));
    return peerRequest(url, this.#tls, {
      ':method': 'POST',
      ':path': `${LEASE_PATH_PREFIX}${op}`,
      'content-type': 'application/protobuf',
      'x-etcd-cluster-id': idToHex(this.clusterId),
      'x-server-from': idToHex(this.memberId),
      'x-raft-to': idToHex(to),
    }, timeoutMs, body);
  }

  /** Serves POST /members/hashkv (see HASHKV_PATH). */
  onHashKvRequest(handler: (body: Buffer) => Promise<{ status: number; body: Uint8Array }>): void {
    this.#hashKvHandler = handler;
  }

  /** Asks peer `to` for its HashKV (`body`: a HashKVRequest): its status and body. Rejects when it cannot be reached in time. */
  requestHashKv(to: NodeId, body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Buffer }> {
    const url = this.peerUrl(to);
    if (url === undefined) return Promise.reject(new Error(`peer ${idToHex(to)} is unknown`));
    return peerRequest(url, this.#tls, {
      ':method': 'POST',
      ':path': HASHKV_PATH,
      'content-type': 'application/protobuf',
      'x-etcd-cluster-id': idToHex(this.clusterId),
      'x-server-from': idToHex(this.memberId),
      'x-raft-to': idToHex(to),
    }, timeoutMs, body);
  }

  /** Serves POST /raft/snapshot (src/server/peer/snapshot-transfer.ts) once the headers passed the peer checks. */
  onSnapshot(handler: (body: SnapshotBody, from: NodeId) => Promise<{ status: number; body: Uint8Array }>): void {
    this.#snapshotHandler = handler;
  }

  /** Streams a snapshot (MsgSnap `m` and the store file) to `m.to`; resolves once it answered 204. */
  sendSnapshot(m: Message, path: string, sizeBytes: number): Promise<void> {
    const url = this.peerUrl(m.to);
    if (url === undefined || this.#closed) return Promise.reject(new Error(`peer ${idToHex(m.to)} is unknown`));
    return postSnapshot({
      url,
      ...(url.startsWith('https://') && this.#tls !== undefined ? { tls: this.#tls.clientOptions() } : {}),
      headers: { 'x-etcd-cluster-id': idToHex(this.clusterId), 'x-server-from': idToHex(this.memberId), 'x-raft-to': idToHex(m.to) },
      message: m,
      path,
      sizeBytes,
      signal: this.#snapshotsAbort.signal,
    });
  }

  addPeer(id: NodeId, url: string): void {
    if (id === this.memberId) return;
    this.#senders.get(id)?.close();
    if (url.startsWith('https://') && this.#tls === undefined) throw new Error(`peer ${idToHex(id)} at ${url}: an https peer URL needs the peer TLS flags (--peer-cert-file and --peer-key-file, or --peer-auto-tls)`);
    this.#senders.set(id, new PeerStream(this, id, url));
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of messages) {
      const s = this.#senders.get(m.to);
      if (s === undefined || !s.enqueue(encodeMessage(m))) this.stats.dropped++;
    }
  }

  onReceive(handler: (m: Message) => void): void {
    this.#handler = handler;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#snapshotsAbort.abort();
    for (const s of this.#senders.values()) s.close();
    for (const st of this.#inbound.values()) st.close(http2.constants.NGHTTP2_CANCEL);
    this.#inbound.clear();
    this.#server.close();
    // Sessions of peers connected to us: the server's close waits for them otherwise.
    for (const session of this.#sessions) session.destroy();
  }

  #serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const refuse = (status: number, reason: string): void => {
      this.stats.refused++;
      this.#onError('refused a peer request', { reason, from: headers['x-server-from'] });
      stream.respond({ ':status': status, 'content-type': 'text/plain' });
      stream.end(reason);
    };
    if (this.#closed) return refuse(503, 'member stopped');
    if (headers[':path'] === MEMBERS_PATH && headers[':method'] === 'GET') {
      const body = this.#membersHandler?.();
      if (body === undefined) return refuse(503, 'membership not known yet');
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(Buffer.from(body));
      return;
    }
    const path = headers[':path'] ?? '';
    /** Why a call from another member is refused (its cluster, its sender), or undefined. */
    const notFromPeer = (): [number, string] | undefined => {
      if (parseId(headers['x-etcd-cluster-id']) !== this.clusterId) return [412, 'cluster ID mismatch'];
      const sender = parseId(headers['x-server-from']);
      if (sender === undefined || !this.#senders.has(sender)) return [403, 'unknown sender'];
      return undefined;
    };
    /** Answers with what `handler` resolves to (500 with the message when it rejects). */
    const answer = (handler: Promise<{ status: number; body: Uint8Array }>, contentType: string): void => {
      handler.then(
        (r) => {
          if (stream.destroyed) return;
          stream.respond({ ':status': r.status, 'content-type': contentType });
          stream.end(Buffer.from(r.body));
        },
        (err: unknown) => {
          if (stream.destroyed) return;
          stream.respond({ ':status': 500, 'content-type': 'text/plain' });
          stream.end(err instanceof Error ? err.message : String(err));
        },
      );
    };
    if (path.startsWith(PROMOTE_PATH_PREFIX) && headers[':method'] === 'POST') {
      const refused = notFromPeer();
      if (refused !== undefined) return refuse(...refused);
      const id = parseId(path.slice(PROMOTE_PATH_PREFIX.length));
      if (id === undefined || this.#promoteHandler === undefined) return refuse(404, 'member not found');
      stream.resume();
      answer(this.#promoteHandler(id), 'application/octet-stream');
      return;
    }
    if (path === HASHKV_PATH && headers[':method'] === 'POST') {
      const refused = notFromPeer();
      if (refused !== undefined) return refuse(...refused);
      const handler = this.#hashKvHandler;
      if (handler === undefined) return refuse(503, 'hashkv not served yet');
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes <= MAX_HASHKV_BODY_BYTES) chunks.push(c);
      });
      stream.on('end', () => {
        if (bytes > MAX_HASHKV_BODY_BYTES) return refuse(413, `hashkv body over ${MAX_HASHKV_BODY_BYTES} bytes`);
        answer(handler(Buffer.concat(chunks, bytes)), 'application/protobuf');
      });
      return;
    }
    if (path.startsWith(LEASE_PATH_PREFIX) && headers[':method'] === 'POST') {
      const refused = notFromPeer();
      if (refused !== undefined) return refuse(...refused);
      const handler = this.#leaseHandler;
      if (handler === undefined) return refuse(503, 'leases not served yet');
      const op = path.slice(LEASE_PATH_PREFIX.length);
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes <= MAX_LEASE_BODY_BYTES) chunks.push(c);
      });
      stream.on('end', () => {
        if (bytes > MAX_LEASE_BODY_BYTES) return refuse(413, `lease call body over ${MAX_LEASE_BODY_BYTES} bytes`);
        answer(handler(op, Buffer.concat(chunks, bytes)), 'application/protobuf');
      });
      return;
    }
    if (path === RAFT_SNAPSHOT_PATH && headers[':method'] === 'POST') {
      const refused = notFromPeer() ?? (parseId(headers['x-raft-to']) !== this.memberId ? ([412, 'to member ID mismatch'] as [number, string]) : undefined);
      if (refused !== undefined) return refuse(...refused);
      if (this.#snapshotHandler === undefined) return refuse(503, 'snapshots not served yet');
      answer(this.#snapshotHandler(stream, parseId(headers['x-server-from'])!), 'text/plain');
      return;
    }
    if ((path !== RAFT_MSGS_PATH && path !== RAFT_STREAM_PATH) || headers[':method'] !== 'POST') return refuse(404, 'not found');
    const clusterId = parseId(headers['x-etcd-cluster-id']);
    if (clusterId !== this.clusterId) return refuse(412, 'cluster ID mismatch');
    if (parseId(headers['x-raft-to']) !== this.memberId) return refuse(412, 'to member ID mismatch');
    const from = parseId(headers['x-server-from']);
    if (from !== undefined && this.#removed.has(from)) return refuse(410, 'the member has been permanently removed from the cluster');
    if (from === undefined || !this.#senders.has(from)) return refuse(403, 'unknown sender');
    if (path === RAFT_STREAM_PATH) return this.#serveStream(stream, from);
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > MAX_BODY_BYTES) {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => {
      if (bytes > MAX_BODY_BYTES) return;
      let msgs: Message[];
      try {
        msgs = decodeFrames(Buffer.concat(chunks, bytes));
      } catch (err) {
        return refuse(400, `bad frames: ${err instanceof Error ? err.message : String(err)}`);
      }
      stream.respond({ ':status': 204 });
      stream.end();
      for (const m of msgs) {
        // A message must come from the member that sent the request.
        if (m.from !== from || m.to !== this.memberId || this.#closed) continue;
        this.stats.received++;
        this.#handler?.(m);
      }
    });
  }

  /** @internal */
  countSent(n: number): void {
    this.stats.sent += n;
  }

  /** @internal */
  countDropped(n: number): void {
    this.stats.dropped += n;
  }

  /** @internal */
  onError(msg: string, fields: Record<string, unknown>): void {
    this.#onError(msg, fields);
  }

  /** @internal A session to a peer: over TLS for https:// URLs. */
  connect(url: string): http2.ClientHttp2Session {
    return url.startsWith('https://') && this.#tls !== undefined ? http2.connect(url, this.#tls.clientOptions()) : http2.connect(url);
  }

  /** An accepted POST /raft/stream from `from`: 200 now, then frames as they come (file comment). */
  #serveStream(stream: http2.ServerHttp2Stream, from: NodeId): void {
    const older = this.#inbound.get(from);
    if (older !== undefined && !older.destroyed) older.close(http2.constants.NGHTTP2_CANCEL);
    this.#inbound.set(from, stream);
    stream.respond({ ':status': 200 });
    const decoder = new FrameDecoder(MAX_FRAME_BYTES);
    let bad = false;
    const onFrame = (body: Buffer): void => {
      // A frame is a view into node:http2's read buffer (64 KiB); the decoded entries are views
      // into what they are decoded from and may stay in the Raft log for long: copy the frame so
      // they hold its bytes only, not the whole read buffer.
      const m = decodeMessage(Buffer.from(body));
      // A message must come from the member that opened the stream (still a member), to this one.
      if (m.from !== from || m.to !== this.memberId || this.#closed || this.#inbound.get(from) !== stream) return;
      this.stats.received++;
      this.#handler?.(m);
    };
    stream.on('data', (chunk: Buffer) => {
      if (bad) return;
      try {
        decoder.push(chunk, onFrame);
      } catch (err) {
        bad = true;
        this.stats.refused++;
        this.#onError('closed a peer stream', { reason: `bad frame: ${err instanceof Error ? err.message : String(err)}`, from: idToHex(from) });
        stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      }
    });
    stream.on('end', () => {
      if (!stream.destroyed) stream.end();
    });
    stream.once('close', () => {
      if (this.#inbound.get(from) === stream) this.#inbound.delete(from);
    });
  }
}

function parseId(v: string | string[] | undefined): bigint | undefined {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{1,16}$/.test(v)) return undefined;
  return idFromHex(v);
}

/** Splits a request body into messages; throws on a truncated frame or trailing bytes. */
export function decodeFrames(body: Buffer): Message[] {
  const out: Message[] = [];
  let o = 0;
  while (o < body.length) {
    if (o + 4 > body.length) throw new Error(`truncated frame header at ${o}`);
    const n = body.readUInt32BE(o);
    if (o + 4 + n > body.length) throw new Error(`frame of ${n} bytes at ${o} runs past the body (${body.length})`);
    out.push(decodeMessage(body.subarray(o + 4, o + 4 + n)));
    o += 4 + n;
  }
  return out;
}

/**
 * GET /members from a peer (a member joining a running cluster). Rejects on a connection failure,
 * a status other than 200, or more than MAX_MEMBERS_BYTES.
 */
export async function fetchMembers(url: string, tls: PeerTransportTls | undefined, timeoutMs: number): Promise<Uint8Array> {
  const r = await peerRequest(url, tls, { ':method': 'GET', ':path': MEMBERS_PATH }, timeoutMs);
  if (r.status !== 200) throw new Error(`${url}${MEMBERS_PATH}: HTTP ${r.status}: ${r.body.toString('utf8')}`);
  return r.body;
}

/** One request to a peer on a session of its own; rejects on a connection failure, a timeout, or a body over MAX_MEMBERS_BYTES. */
function peerRequest(url: string, tls: PeerTransportTls | undefined, headers: http2.OutgoingHttpHeaders, timeoutMs: number, body?: Uint8Array): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let session: http2.ClientHttp2Session;
    try {
      session = url.startsWith('https://') && tls !== undefined ? http2.connect(url, tls.clientOptions()) : http2.connect(url);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    let done = false;
    const finish = (err: Error | undefined, r?: { status: number; body: Buffer }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      if (err !== undefined) reject(err);
      else resolve(r!);
    };
    const timer = setTimeout(() => finish(new Error(`${url}${String(headers[':path'])}: no answer in ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (err) => finish(err));
    const req = session.request(headers);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > MAX_MEMBERS_BYTES) finish(new Error(`${url}${String(headers[':path'])}: answer over ${MAX_MEMBERS_BYTES} bytes`));
      else chunks.push(c);
    });
    req.on('end', () => finish(undefined, { status, body: Buffer.concat(chunks) }));
    req.on('error', (err) => finish(err));
    req.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}
