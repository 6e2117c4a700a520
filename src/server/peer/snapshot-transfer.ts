/**
 * The snapshot path of the peer transport (docs/cluster.md, "Snapshots to lagging followers"):
 * one POST /raft/snapshot per transfer, on a session of its own, so a store of gigabytes never
 * sits in front of the MsgApps and heartbeats of /raft/msgs.
 *
 *   offset      size   field
 *   0           4      u32 BE: M, bytes of the message (1 ..= MAX_SNAPSHOT_MESSAGE_BYTES)
 *   4           M      encodeMessage(MsgSnap) (src/raft/codec.ts)
 *   4+M         8      u64 BE: D, bytes of the store file (1 ..= the receiver's limit)
 *   12+M        D      the LMDB store file
 *   12+M+D      32     SHA-256 of every byte before it
 *
 * The sender streams the file from disk (never whole in memory) and hashes as it goes; the
 * receiver writes to a temporary file as bytes arrive, hashing the same bytes, and keeps
 * nothing unless the trailer matches.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import * as http2 from 'node:http2';
import type * as tls from 'node:tls';
import { decodeMessage, encodeMessage, MessageType, type Message } from '../../raft/index.js';

export const RAFT_SNAPSHOT_PATH = '/raft/snapshot';
/** Largest encoded MsgSnap (metadata and a confState: a few hundred bytes in practice). */
export const MAX_SNAPSHOT_MESSAGE_BYTES = 64 * 1024;
export const SNAPSHOT_SHA256_BYTES = 32;
/**
 * A transfer not finished in this time fails (and Raft sends a new MsgSnap later). 10 minutes
 * moves ~8 GiB (etcd's largest quota) at 15 MiB/s; `etcd_network_snapshot_send_failures`
 * growing on a slow network says it is too small.
 */
export const SNAPSHOT_TIMEOUT_MS = 10 * 60 * 1000;
/** The receiver writes the file in runs of this many bytes (one write per run, not per HTTP/2 chunk). */
const WRITE_RUN_BYTES = 1024 * 1024;

/** A refusal with its HTTP status (docs/cluster.md lists them). */
export class SnapshotRefused extends Error {
  override name = 'SnapshotRefused';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The bytes before the file: message length, message, file length. */
export function encodeSnapshotHead(m: Message, dbBytes: number): Buffer {
  const msg = encodeMessage(m);
  const head = Buffer.allocUnsafe(4 + msg.length + 8);
  head.writeUInt32BE(msg.length, 0);
  head.set(msg, 4);
  head.writeBigUInt64BE(BigInt(dbBytes), 4 + msg.length);
  return head;
}

export interface PostSnapshotOptions {
  readonly url: string;
  readonly tls?: tls.ConnectionOptions;
  readonly headers: http2.OutgoingHttpHeaders;
  readonly message: Message;
  /** The store file to stream, and its size. */
  readonly path: string;
  readonly sizeBytes: number;
  readonly timeoutMs?: number;
  /** Aborts the transfer (the transport closes). */
  readonly signal?: AbortSignal;
}

/** Sends one snapshot; resolves on 204, rejects with the reason otherwise. */
export function postSnapshot(o: PostSnapshotOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let session: http2.ClientHttp2Session;
    try {
      session = o.tls !== undefined ? http2.connect(o.url, o.tls) : http2.connect(o.url);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    let done = false;
    let file: ReadStream | undefined;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      file?.destroy();
      session.destroy();
      if (err !== undefined) reject(err);
      else resolve();
    };
    const timeoutMs = o.timeoutMs ?? SNAPSHOT_TIMEOUT_MS;
    const timer = setTimeout(() => finish(new Error(`snapshot to ${o.url}: not done in ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    if (o.signal?.aborted === true) return finish(new Error(`snapshot to ${o.url}: aborted`));
    o.signal?.addEventListener('abort', () => finish(new Error(`snapshot to ${o.url}: aborted`)), { once: true });
    session.on('error', (err) => finish(err));
    const req = session.request({ ...o.headers, ':method': 'POST', ':path': RAFT_SNAPSHOT_PATH, 'content-type': 'application/octet-stream' });
    let status = 0;
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: string) => (text += c.slice(0, 1000)));
    req.on('end', () => finish(status === 204 ? undefined : new Error(`snapshot to ${o.url}: HTTP ${status}: ${text}`)));
    req.on('error', (err) => finish(err));
    req.on('close', () => finish(new Error(`snapshot to ${o.url}: stream closed without an answer`)));
    const hash = createHash('sha256');
    const head = encodeSnapshotHead(o.message, o.sizeBytes);
    hash.update(head);
    req.write(head);
    let sent = 0;
    const f = createReadStream(o.path);
    file = f;
    f.on('data', (chunk) => {
      const c = chunk as Buffer;
      sent += c.length;
      hash.update(c);
      if (!req.write(c)) {
        f.pause();
        req.once('drain', () => f.resume());
      }
    });
    f.on('error', (err) => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      finish(err);
    });
    f.on('end', () => {
      if (sent !== o.sizeBytes) {
        req.close(http2.constants.NGHTTP2_CANCEL);
        finish(new Error(`snapshot file ${o.path}: ${sent} bytes read, ${o.sizeBytes} announced`));
        return;
      }
      req.end(hash.digest());
    });
  });
}

export interface ReceiveSnapshotOptions {
  /** Where the file goes while it arrives (removed on any failure). */
  readonly tmpPath: string;
  /** The sender and this member, as the request headers named them. */
  readonly from: bigint;
  readonly to: bigint;
  /** Largest store file accepted (413 above it, before the body is read). */
  readonly maxBytes: number;
}

export interface ReceivedSnapshot {
  readonly message: Message;
  /** The verified file (synced to disk), at `tmpPath`. */
  readonly path: string;
  readonly sizeBytes: number;
}

/**
 * Reads one snapshot request body from `body`: rejects with SnapshotRefused (400 malformed,
 * truncated or tampered, 413 oversized) and leaves no file behind; resolves once the trailer
 * matched and the file is synced. The file is written asynchronously as the body arrives (the
 * body is read only as fast as the disk takes it), and synced off the event loop.
 */
export async function receiveSnapshot(body: AsyncIterable<unknown> & { destroy(err?: Error): void; resume(): unknown }, o: ReceiveSnapshotOptions): Promise<ReceivedSnapshot> {
  const hash = createHash('sha256');
  let fh: FileHandle | undefined;
  let stage: 'msgLen' | 'msg' | 'dbLen' | 'db' | 'sum' | 'done' = 'msgLen';
  let want = 4;
  let pending: Buffer = Buffer.alloc(0);
  let message: Message | undefined;
  let dbBytes = 0;
  let dbLeft = 0;
  let run: Buffer[] = [];
  let runBytes = 0;
  const flushRun = async (): Promise<void> => {
    const parts = run;
    run = [];
    runBytes = 0;
    await fh!.writev(parts);
  };
  const refuse = (status: number, why: string): never => {
    throw new SnapshotRefused(status, why);
  };
  // Leaving the loop early (a refusal) must not destroy the request: the answer goes on it.
  const readable = body as { iterator?: (o: { destroyOnReturn: boolean }) => AsyncIterable<unknown> };
  const chunks: AsyncIterable<unknown> = typeof readable.iterator === 'function' ? readable.iterator({ destroyOnReturn: false }) : body;
  try {
    for await (const raw of chunks) {
      let c: Buffer = raw as Buffer;
      while (c.length > 0) {
        if (stage === 'db') {
          const n = Math.min(dbLeft, c.length);
          const part = c.subarray(0, n);
          hash.update(part);
          // Written in runs of WRITE_RUN_BYTES: one trip to the thread pool per run, not per chunk.
          run.push(part);
          runBytes += n;
          dbLeft -= n;
          c = c.subarray(n);
          if (runBytes >= WRITE_RUN_BYTES || dbLeft === 0) await flushRun();
          if (dbLeft === 0) {
            stage = 'sum';
            want = SNAPSHOT_SHA256_BYTES;
          }
          continue;
        }
        if (stage === 'done') refuse(400, 'bytes after the checksum');
        pending = pending.length === 0 ? c : Buffer.concat([pending, c]);
        c = Buffer.alloc(0);
        while (stage !== 'db' && stage !== 'done' && pending.length >= want) {
          const b = pending.subarray(0, want);
          pending = pending.subarray(want);
          if (stage === 'msgLen') {
            hash.update(b);
            want = b.readUInt32BE(0);
            if (want < 1 || want > MAX_SNAPSHOT_MESSAGE_BYTES) refuse(400, `message of ${want} bytes`);
            stage = 'msg';
          } else if (stage === 'msg') {
            hash.update(b);
            try {
              message = decodeMessage(b);
            } catch (err) {
              refuse(400, `bad message: ${err instanceof Error ? err.message : String(err)}`);
            }
            if (message!.type !== MessageType.MsgSnap || message!.snapshot === null) refuse(400, 'not a MsgSnap');
            if (message!.from !== o.from || message!.to !== o.to) refuse(400, 'message from/to differ from the request headers');
            stage = 'dbLen';
            want = 8;
          } else if (stage === 'dbLen') {
            hash.update(b);
            const n = b.readBigUInt64BE(0);
            if (n < 1n) refuse(400, 'empty store file');
            if (n > BigInt(o.maxBytes)) refuse(413, `store file of ${n} bytes is over the limit of ${o.maxBytes}`);
            dbBytes = Number(n);
            dbLeft = dbBytes;
            fh = await open(o.tmpPath, 'w', 0o600);
            stage = 'db';
            c = pending;
            pending = Buffer.alloc(0);
          } else {
            const got = hash.digest();
            if (!got.equals(b)) refuse(400, `checksum mismatch: expected sha256 ${b.toString('hex')}, got ${got.toString('hex')}`);
            stage = 'done';
          }
        }
      }
    }
    if (stage !== 'done') refuse(400, `truncated body (${stage === 'db' ? `${dbLeft} of ${dbBytes} file bytes missing` : `ends in the ${stage}`})`);
    if (pending.length > 0) refuse(400, `${pending.length} bytes after the checksum`);
    await fh!.sync();
    await fh!.close();
    fh = undefined;
    return { message: message!, path: o.tmpPath, sizeBytes: dbBytes };
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(o.tmpPath, { force: true });
    body.resume(); // drain what is left; the answer goes out now
    if (err instanceof SnapshotRefused) throw err;
    throw new SnapshotRefused(400, `body: ${err instanceof Error ? err.message : String(err)}`);
  }
}
