/**
 * Raft snapshots of the store (docs/cluster.md, "Snapshots to lagging followers"), below the
 * process tests (test/fault/snapshot-catchup.test.ts):
 *
 * - the body round trip: a store copy taken by the read pool while the leader goes on applying
 *   (one consistent point), streamed over HTTP/2 with its SHA-256, installed on another store
 *   in one transaction: every dbi equal to the copy, applied index and term the copy's;
 * - the parser refuses a truncated body (cut anywhere), a tampered one (a byte flipped in the
 *   message or in the file), an oversized file (413, before its bytes are read), a message that
 *   is not a MsgSnap or names another sender, bytes after the checksum; nothing is left behind;
 * - the peer port refuses another cluster, another addressed member and an unknown sender
 *   before the handler sees the request;
 * - the follower's receiver: a snapshot at or below the committed index is answered and dropped
 *   (nothing kept, nothing delivered); a store whose point differs from the message is refused;
 *   a second transfer while one is in progress gets 409; a good one is kept under its index and
 *   handed to Raft once, and stays while a later one arrives before the install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';
import { MessageType, newMessage, type Message } from '../../../src/raft/index.js';
import { InlineApplyPipe } from '../../../src/server/inline-apply-pipe.js';
import { ReadPool } from '../../../src/server/read-pool.js';
import { LmdbBackend } from '../../../src/backend/backend.js';
import { bootstrapEntries } from '../../../src/server/node/raft-opener.js';
import { encodeSnapshotHead, postSnapshot, receiveSnapshot, SnapshotRefused, SNAPSHOT_SHA256_BYTES } from '../../../src/server/peer/snapshot-transfer.js';
import { Http2PeerTransport } from '../../../src/server/peer/http2-transport.js';
import { RaftSnapshots, snapshotFileName } from '../../../src/server/node/raft-snapshots.js';
import type { LogWriter } from '../../../src/server/ports.js';

const LEADER = 0x11n;
const FOLLOWER = 0x22n;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'etcd-ts-raftsnap-'));
}

/** A store with a cluster membership (entries 1..3) and `puts` puts after it, and a lease. */
async function leaderStore(dir: string): Promise<{ pipe: InlineApplyPipe; dbPath: string; next: () => Entry }> {
  const dbPath = join(dir, 'leader', 'db');
  const opened = await InlineApplyPipe.open(dbPath, {});
  const pipe = opened.pipe as InlineApplyPipe;
  const members = [LEADER, FOLLOWER, 0x33n].map((id) => ({ id, name: `m${id}`, peerUrls: [`http://127.0.0.1:${Number(id)}`], clientUrls: [], isLearner: false }));
  await pipe.apply(bootstrapEntries(members));
  let index = 3;
  let n = 0;
  const next = (): Entry => {
    index++;
    n++;
    const req: etcdserverpb.IInternalRaftRequest =
      n === 1 ? { header: { ID: BigInt(index) }, leaseGrant: { ID: 77n, TTL: 600 } }
        : { header: { ID: BigInt(index) }, put: { key: Buffer.from(`k/${String(n).padStart(6, '0')}`), value: Buffer.from(`v${n}`), ...(n % 10 === 0 ? { lease: 77n } : {}) } };
    return { term: 2, index, type: EntryType.Normal, data: etcdserverpb.InternalRaftRequest.encode(req).finish() };
  };
  return { pipe, dbPath, next };
}

function dump(path: string): Map<string, string[]> {
  const b = LmdbBackend.open({ path, writable: false });
  try {
    const out = new Map<string, string[]>();
    for (const [name, db] of Object.entries({ meta: b.meta, rev: b.rev, kidx: b.kidx, latest: b.latest, tombs: b.tombs, leaseKeys: b.leaseKeys, leases: b.leases })) {
      out.set(name, [...db.getRange({})].map(({ key, value }) => `${Buffer.from(key).toString('hex')}=${Buffer.from(value).toString('hex')}`));
    }
    return out;
  } finally {
    void b.close();
  }
}

function msgSnap(index: number, term: number, from = LEADER, to = FOLLOWER): Message {
  return newMessage({
    type: MessageType.MsgSnap, from, to, term,
    snapshot: { data: new Uint8Array(0), metadata: { index, term, confState: { voters: [LEADER, FOLLOWER, 0x33n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
  });
}

/** A whole request body as the sender makes it. */
function body(m: Message, file: Buffer): Buffer {
  const head = encodeSnapshotHead(m, file.length);
  const sum = createHash('sha256').update(head).update(file).digest();
  return Buffer.concat([head, file, sum]);
}

async function refusal(bytes: Buffer, opts: { maxBytes?: number; from?: bigint; chunk?: number } = {}): Promise<{ status: number; message: string; left: boolean }> {
  const dir = tmp();
  const tmpPath = join(dir, 'recv.tmp');
  const s = new PassThrough();
  const p = receiveSnapshot(s, { tmpPath, from: opts.from ?? LEADER, to: FOLLOWER, maxBytes: opts.maxBytes ?? 1 << 30 });
  const chunk = opts.chunk ?? 7;
  for (let o = 0; o < bytes.length; o += chunk) s.write(bytes.subarray(o, o + chunk));
  s.end();
  try {
    await p;
    return { status: 204, message: '', left: existsSync(tmpPath) };
  } catch (err) {
    assert.ok(err instanceof SnapshotRefused, String(err));
    return { status: err.status, message: err.message, left: existsSync(tmpPath) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a store copy taken while the leader applies is one consistent point; it streams, checks and installs whole', async () => {
  const dir = tmp();
  const { pipe, dbPath, next } = await leaderStore(dir);
  await pipe.apply(Array.from({ length: 500 }, next));
  const pool = new ReadPool(dbPath);
  const server = http2.createServer();
  let writing = true;
  let writer: Promise<void> | undefined;
  try {
    // Writes go on while the copy is taken (and while it is streamed below).
    writer = (async () => {
      for (let n = 0; writing && n < 300; n++) {
        await pipe.apply(Array.from({ length: 20 }, next));
        await new Promise((r) => setImmediate(r));
      }
    })();
    const copyPath = join(dir, 'copy.lmdb');
    const copy = await pool.storeCopy(copyPath);
    assert.ok(copy.appliedIndex >= 503, `the copy holds at least what was applied before it: ${copy.appliedIndex}`);
    assert.equal(copy.consistentTerm, 2);
    assert.ok(copy.members !== null, 'the membership comes with the copy');
    assert.equal(copy.sizeBytes, statSync(copyPath).size);
    // One point: every put up to the copy's applied index, nothing after it.
    const copied = dump(copyPath);
    const puts = copy.appliedIndex - 4; // 3 membership entries, 1 lease grant
    assert.equal(copied.get('latest')!.length, puts);

    const recvPath = join(dir, 'recv.tmp');
    let received: Awaited<ReturnType<typeof receiveSnapshot>> | undefined;
    let maxBytes = 1000;
    let last: Promise<unknown> = Promise.resolve();
    server.on('stream', (stream) => {
      last = receiveSnapshot(stream, { tmpPath: recvPath, from: LEADER, to: FOLLOWER, maxBytes }).then(
        (r) => {
          received = r;
          stream.respond({ ':status': 204 });
          stream.end();
        },
        (err: SnapshotRefused) => {
          if (stream.destroyed) return; // the sender gave up (as the peer transport's answer() checks)
          stream.respond({ ':status': err.status });
          stream.end(err.message);
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const m = msgSnap(copy.appliedIndex, copy.consistentTerm);
    // Over the receiver's limit: answered 413 from the announced size; the sender fails.
    await assert.rejects(postSnapshot({ url, headers: {}, message: m, path: copyPath, sizeBytes: copy.sizeBytes }), /HTTP 413/);
    await last;
    assert.equal(existsSync(recvPath), false);
    maxBytes = 1 << 30;
    // A file that ends before its announced size: the sender notices and cancels.
    await assert.rejects(postSnapshot({ url, headers: {}, message: m, path: copyPath, sizeBytes: copy.sizeBytes + 10 }), /bytes read|HTTP 400|closed/);
    await last; // the receiver sees the cancelled stream and cleans up
    assert.equal(existsSync(recvPath), false);
    await postSnapshot({ url, headers: {}, message: m, path: copyPath, sizeBytes: copy.sizeBytes });
    writing = false;
    await writer;
    assert.ok(received !== undefined);
    assert.equal(received.message.snapshot!.metadata.index, copy.appliedIndex);
    assert.equal(received.message.from, LEADER);
    assert.ok(readFileSync(recvPath).equals(readFileSync(copyPath)), 'the file arrives byte for byte');

    // Install on a follower store that has older, different content: replaced whole.
    const fdb = join(dir, 'follower', 'db');
    const f = await InlineApplyPipe.open(fdb, {});
    await f.pipe.apply(bootstrapEntries([{ id: FOLLOWER, name: 'x', peerUrls: ['http://127.0.0.1:9'], clientUrls: [], isLearner: false }]));
    const installed = await f.pipe.installSnapshot(recvPath);
    assert.deepEqual(installed, { appliedIndex: copy.appliedIndex, consistentTerm: 2, currentRevision: copy.currentRevision });
    // Later entries apply on top of it as on the leader.
    const later = Array.from({ length: 30 }, (_, i) => ({
      term: 2, index: copy.appliedIndex + 1 + i, type: EntryType.Normal,
      data: etcdserverpb.InternalRaftRequest.encode({ header: { ID: 9000n + BigInt(i) }, put: { key: Buffer.from(`after/${i}`), value: Buffer.from('x') } }).finish(),
    }));
    const outs = await f.pipe.apply(later);
    assert.equal(outs.length, 30);
    assert.equal(outs[29]!.revision, copy.currentRevision + 30);
    await f.pipe.close();
    const after = dump(fdb);
    for (const name of ['rev', 'kidx', 'tombs', 'leaseKeys', 'leases']) {
      const want = copied.get(name)!;
      for (const kv of want) assert.ok(after.get(name)!.includes(kv), `${name} holds every record of the copy`);
    }
    assert.equal(after.get('latest')!.length, puts + 30, 'the copy\'s keys and the later ones, nothing of the follower\'s own');
    assert.equal(after.get('leases')!.length, 1, 'the lease came across');
    assert.equal(after.get('leaseKeys')!.length, Math.floor((puts + 1) / 10), 'its keys too');
  } finally {
    writing = false;
    await writer;
    server.close();
    await pool.close();
    await pipe.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the parser refuses truncated, tampered, oversized and malformed bodies and leaves no file', async () => {
  const file = Buffer.alloc(5000);
  for (let i = 0; i < file.length; i++) file[i] = (i * 31) & 0xff;
  const good = body(msgSnap(100, 3), file);
  assert.equal((await refusal(good)).status, 204, 'the good body is accepted');
  // Cut anywhere: in the header, the message, the file, the checksum.
  for (const cut of [1, 3, 10, 40, 2000, good.length - SNAPSHOT_SHA256_BYTES, good.length - 1]) {
    const r = await refusal(good.subarray(0, cut));
    assert.equal(r.status, 400, `cut at ${cut}: ${r.message}`);
    assert.match(r.message, /truncated/);
    assert.equal(r.left, false);
  }
  // A byte flipped in the file, in the message, in the checksum.
  for (const at of [good.length - SNAPSHOT_SHA256_BYTES - 100, 20, good.length - 3]) {
    const bad = Buffer.from(good);
    bad[at] = bad[at]! ^ 0x40;
    const r = await refusal(bad);
    assert.equal(r.status, 400, `flipped at ${at}: ${r.message}`);
    assert.equal(r.left, false);
  }
  const flipped = Buffer.from(good);
  flipped[good.length - SNAPSHOT_SHA256_BYTES - 100] ^= 1;
  assert.match((await refusal(flipped)).message, /checksum mismatch/);
  // Oversized: refused from the announced length.
  const big = await refusal(good, { maxBytes: 4999 });
  assert.equal(big.status, 413);
  assert.equal(big.left, false);
  // Not a MsgSnap; another sender than the headers'; bytes after the checksum; a zero-length message.
  const app = body(newMessage({ type: MessageType.MsgApp, from: LEADER, to: FOLLOWER, term: 3 }), file);
  assert.match((await refusal(app)).message, /not a MsgSnap/);
  assert.match((await refusal(good, { from: 0x99n })).message, /from\/to differ/);
  assert.equal((await refusal(Buffer.concat([good, Buffer.from('x')]))).status, 400);
  assert.equal((await refusal(Buffer.concat([Buffer.alloc(4), good.subarray(4)]))).status, 400);
  // In one chunk as in many.
  assert.equal((await refusal(good, { chunk: good.length })).status, 204);
});

test('the peer port refuses another cluster, another member and an unknown sender before the handler', async () => {
  const t = await Http2PeerTransport.listen({ memberId: FOLLOWER, clusterId: 0xc1n, listenHost: '127.0.0.1', listenPort: 0, peers: new Map([[LEADER, 'http://127.0.0.1:1']]) });
  let called = 0;
  t.onSnapshot(async (b) => {
    called++;
    b.resume();
    return { status: 204, body: new Uint8Array(0) };
  });
  const post = (headers: Record<string, string>): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = http2.connect(`http://127.0.0.1:${t.port}`);
      s.on('error', reject);
      const req = s.request({ ':method': 'POST', ':path': '/raft/snapshot', ...headers });
      req.on('response', (h) => {
        resolve(Number(h[':status']));
        s.close();
      });
      req.on('data', () => undefined);
      req.end(Buffer.alloc(100));
    });
  try {
    const ok = { 'x-etcd-cluster-id': 'c1', 'x-server-from': '11', 'x-raft-to': '22' };
    assert.equal(await post({ ...ok, 'x-etcd-cluster-id': 'c2' }), 412);
    assert.equal(await post({ ...ok, 'x-raft-to': '33' }), 412);
    assert.equal(await post({ ...ok, 'x-server-from': '99' }), 403);
    assert.equal(called, 0, 'refused before the handler');
    assert.equal(await post(ok), 204);
    assert.equal(called, 1);
  } finally {
    t.close();
  }
});

test('the follower keeps a good snapshot under its index, ignores a stale one, refuses a mismatched one, one at a time', async () => {
  const dir = tmp();
  const { pipe, dbPath, next } = await leaderStore(dir);
  await pipe.apply(Array.from({ length: 50 }, next));
  await pipe.flush();
  const file = readFileSync(dbPath);
  await pipe.apply(Array.from({ length: 10 }, next));
  await pipe.close();
  const later = readFileSync(dbPath); // at index 63
  const snapDir = join(dir, 'snap');
  mkdirSync(snapDir);
  const noLog: LogWriter = { append: () => Promise.reject(new Error('no')), releaseTo: () => undefined, close: () => Promise.resolve() };
  const rs = new RaftSnapshots({
    memberId: FOLLOWER,
    store: { snapDir, storeCopy: () => Promise.reject(new Error('no')), installSnapshot: () => Promise.reject(new Error('no')) },
    transport: {},
    log: noLog,
    maxBytes: 1 << 30,
  });
  const delivered: Message[] = [];
  let committed = 0;
  rs.attach({ deliver: (m) => delivered.push(m), committedIndex: () => committed });
  const send = async (bytes: Buffer): Promise<number> => {
    const s = new PassThrough();
    const p = rs.receive(s, LEADER);
    s.end(bytes);
    return (await p).status;
  };
  try {
    // The store is at index 53 (3 membership entries, 50 more), term 2.
    assert.equal(await send(body(msgSnap(60, 2), file)), 400, 'a message that does not match the store file');
    assert.deepEqual(readdirSync(snapDir), []);
    committed = 53;
    assert.equal(await send(body(msgSnap(53, 2), file)), 204, 'stale: answered');
    assert.deepEqual(readdirSync(snapDir), [], 'stale: nothing kept');
    assert.equal(delivered.length, 0, 'stale: nothing delivered');
    committed = 10;
    // While one transfer is in progress, another is refused.
    const slow = new PassThrough();
    const first = rs.receive(slow, LEADER);
    const second = new PassThrough();
    assert.equal((await rs.receive(second, LEADER)).status, 409);
    slow.end(body(msgSnap(53, 2), file));
    assert.equal((await first).status, 204);
    assert.deepEqual(readdirSync(snapDir), [snapshotFileName(53)]);
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]!.snapshot!.metadata.index, 53);
    assert.equal(rs.stats.receiveSuccess, 1);
    // Not an LMDB file at all.
    assert.equal(await send(body(msgSnap(70, 2), Buffer.alloc(4096, 7))), 400);
    assert.deepEqual(readdirSync(snapDir), [snapshotFileName(53)]);
    // A later one arrives before Raft installed the first: both files stay (the first was handed over).
    assert.equal(await send(body(msgSnap(63, 2), later)), 204);
    assert.deepEqual(readdirSync(snapDir).sort(), [snapshotFileName(53), snapshotFileName(63)]);
    assert.equal(delivered.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
