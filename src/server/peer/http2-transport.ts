/**
 * The member-to-member transport on node:http2 (etcd's rafthttp analogue; docs/cluster.md,
 * "Peer transport"). A PeerTransport (src/server/node/raft-node.ts).
 *
 *   sender                                          receiver (--listen-peer-urls)
 *   send(msgs) -> per-peer queue --POST /raft/msgs--> check cluster ID, addressed member,
 *                 one request in flight per peer      sender known; decode frames in order
 *                 (whatever queued meanwhile is        -> onReceive(m) for each; 204
 *                 the next request's body)
 *
 * Request: POST /raft/msgs, headers
 *   x-etcd-cluster-id: cluster ID (hex)   x-server-from: sender member ID (hex)
 *   x-raft-to: addressed member ID (hex)
 * Body: frames `u32 big-endian length, encodeMessage(m)` (src/raft/codec.ts), in send order.
 * Answers: 204 delivered; 412 cluster ID mismatch or not the addressed member (the body says
 * which, as etcd's "cluster ID mismatch"); 403 unknown sender; 400 bad frames; 404 other paths.
 * Snapshots go on a path of their own (POST /raft/snapshot, src/server/peer/snapshot-transfer.ts),
 * one session per transfer, after the same header checks.
 *
 * Best effort, as Raft expects of its network: a batch whose request fails is dropped (Raft
 * retries through heartbeats and probes); the session is then dropped and made again after
 * RECONNECT_DELAY_MS, and while it is down messages to that peer are dropped. A queue holds at
 * most MAX_QUEUED_BYTES per peer; past it messages are dropped (etcd's stream buffer does the
 * same). The wire format is etcd-ts's own: an etcd-ts member cannot talk to an etcd member.
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
import { postSnapshot, RAFT_SNAPSHOT_PATH } from './snapshot-transfer.js';

/** Path of the message endpoint. */
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
/** The largest forwarded lease call body: one request message. */
const MAX_LEASE_BODY_BYTES = 64 * 1024;
/** Largest /members answer a joining member reads. */
const MAX_MEMBERS_BYTES = 4 * 1024 * 1024;
/**
 * Bytes queued for one peer before messages to it are dropped: a few full MsgApps (1 MiB
 * each). The counter `dropped` growing under load says this is too small (or the peer too slow).
 */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** Largest request body accepted (a full queue, plus slack). */
const MAX_BODY_BYTES = 2 * MAX_QUEUED_BYTES;
/** Wait after a failed request before connecting again. */
const RECONNECT_DELAY_MS = 100;
/** A request not answered in this time fails (the peer is stuck or gone). */
const REQUEST_TIMEOUT_MS = 5000;

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

export class Http2PeerTransport implements PeerTransport {
  readonly memberId: NodeId;
  readonly clusterId: bigint;
  readonly #server: http2.Http2Server | http2.Http2SecureServer;
  readonly #tls: PeerTransportTls | undefined;
  readonly #senders = new Map<NodeId, PeerSender>();
  readonly #onError: (msg: string, fields: Record<string, unknown>) => void;
  /** Sessions peers opened to us (closed with the transport). */
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  #handler: ((m: Message) => void) | undefined;
  #membersHandler: (() => Uint8Array | undefined) | undefined;
  #promoteHandler: ((id: NodeId) => Promise<{ status: number; body: Uint8Array }>) | undefined;
  #leaseHandler: ((op: string, body: Buffer) => Promise<{ status: number; body: Uint8Array }>) | undefined;
  #snapshotHandler: ((body: SnapshotBody, from: NodeId) => Promise<{ status: number; body: Uint8Array }>) | undefined;
  #closed = false;
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
   * Since when (Date.now() ms) every request to peer `id` has succeeded; 0 when the last one
   * failed or none was made yet (etcd's peer "active since", for its health checks).
   */
  activeSince(id: NodeId): number {
    return this.#senders.get(id)?.activeSinceMs ?? 0;
  }

  /** Stops sending to `id` and refuses its requests (a removed member). */
  removePeer(id: NodeId): void {
    this.#senders.get(id)?.close();
    this.#senders.delete(id);
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
    this.#senders.set(id, new PeerSender(this, id, url, this.#onError, url.startsWith('https://') ? this.#tls : undefined));
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
    if (headers[':path'] !== RAFT_MSGS_PATH || headers[':method'] !== 'POST') return refuse(404, 'not found');
    const clusterId = parseId(headers['x-etcd-cluster-id']);
    if (clusterId !== this.clusterId) return refuse(412, 'cluster ID mismatch');
    if (parseId(headers['x-raft-to']) !== this.memberId) return refuse(412, 'to member ID mismatch');
    const from = parseId(headers['x-server-from']);
    if (from === undefined || !this.#senders.has(from)) return refuse(403, 'unknown sender');
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
}

/** Messages to one peer: a queue and at most one request in flight. */
class PeerSender {
  readonly #owner: Http2PeerTransport;
  readonly #to: NodeId;
  readonly url: string;
  readonly #onError: (msg: string, fields: Record<string, unknown>) => void;
  #session: http2.ClientHttp2Session | undefined;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #inFlight = false;
  #downUntilMs = 0;
  /** See Http2PeerTransport.activeSince. */
  activeSinceMs = 0;
  #closed = false;
  readonly #tls: PeerTransportTls | undefined;

  constructor(owner: Http2PeerTransport, to: NodeId, url: string, onError: (msg: string, fields: Record<string, unknown>) => void, secure: PeerTransportTls | undefined) {
    this.#owner = owner;
    this.#to = to;
    this.url = url;
    this.#onError = onError;
    this.#tls = secure;
  }

  /** False when the message is dropped (queue full, peer down, closed). */
  enqueue(frame: Uint8Array): boolean {
    if (this.#closed || Date.now() < this.#downUntilMs) return false;
    if (this.#queuedBytes + frame.length > MAX_QUEUED_BYTES) return false;
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (!this.#inFlight) this.#flush();
    return true;
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#session?.destroy();
    this.#session = undefined;
  }

  #connect(): http2.ClientHttp2Session {
    if (this.#session !== undefined && !this.#session.closed && !this.#session.destroyed) return this.#session;
    const s = this.#tls === undefined ? http2.connect(this.url) : http2.connect(this.url, this.#tls.clientOptions());
    s.on('error', (err) => {
      this.#onError('peer connection failed', { peer: idToHex(this.#to), url: this.url, error: err.message });
    });
    s.on('close', () => {
      if (this.#session === s) this.#session = undefined;
    });
    s.unref();
    this.#session = s;
    return s;
  }

  #flush(): void {
    if (this.#closed || this.#queue.length === 0) return;
    const frames = this.#queue;
    const bytes = this.#queuedBytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#inFlight = true;
    const body = Buffer.allocUnsafe(bytes + 4 * frames.length);
    let o = 0;
    for (const f of frames) {
      body.writeUInt32BE(f.length, o);
      body.set(f, o + 4);
      o += 4 + f.length;
    }
    let done = false;
    const finish = (ok: boolean, reason?: string): void => {
      if (done) return;
      done = true;
      this.#inFlight = false;
      if (ok) {
        this.#owner.countSent(frames.length);
        if (this.activeSinceMs === 0) this.activeSinceMs = Date.now();
      } else {
        this.activeSinceMs = 0;
        this.#owner.countDropped(frames.length);
        this.#onError('dropped messages to a peer', { peer: idToHex(this.#to), count: frames.length, reason });
        this.#session?.destroy();
        this.#session = undefined;
        this.#downUntilMs = Date.now() + RECONNECT_DELAY_MS;
        this.#owner.countDropped(this.#queue.length);
        this.#queue = [];
        this.#queuedBytes = 0;
      }
      if (!this.#closed) this.#flush();
    };
    let req: http2.ClientHttp2Stream;
    try {
      req = this.#connect().request({
        ':method': 'POST',
        ':path': RAFT_MSGS_PATH,
        'content-type': 'application/octet-stream',
        'x-etcd-cluster-id': idToHex(this.#owner.clusterId),
        'x-server-from': idToHex(this.#owner.memberId),
        'x-raft-to': idToHex(this.#to),
      });
    } catch (err) {
      finish(false, err instanceof Error ? err.message : String(err));
      return;
    }
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      finish(false, 'timed out');
    });
    req.on('response', (h) => {
      const status = Number(h[':status']);
      if (status === 204) {
        finish(true);
        return;
      }
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => finish(false, `HTTP ${status}: ${text}`));
    });
    req.on('error', (err) => finish(false, err.message));
    req.on('close', () => finish(false, 'stream closed without an answer'));
    req.on('data', () => undefined);
    req.end(body);
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
