/**
 * The three stages of a Raft snapshot to a lagging follower (docs/cluster.md, "Snapshots to
 * lagging followers"), measured on one machine: the leader's store copy (read pool, one LMDB
 * read transaction), the transfer over HTTP/2 on 127.0.0.1 with its SHA-256 on both ends, and the
 * follower's install (one LMDB write transaction, synced; its CPU time too: the install runs on
 * this thread here, in the apply worker in production). Prints numbers, never pass/fail.
 *
 *   node dist/bench/raft-snapshot.js [--keys 200000] [--value-bytes 100]
 */
import * as http2 from 'node:http2';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { etcdserverpb } from '../src/proto/pb.js';
import { EntryType, type Entry } from '../src/raftpb/types.js';
import { MessageType, newMessage } from '../src/raft/index.js';
import { InlineApplyPipe } from '../src/server/inline-apply-pipe.js';
import { ReadPool } from '../src/server/read-pool.js';
import { postSnapshot, receiveSnapshot } from '../src/server/peer/snapshot-transfer.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main(): Promise<void> {
  const keys = arg('keys', 200_000);
  const valueBytes = arg('value-bytes', 100);
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-snapbench-'));
  try {
    const leaderDb = join(dir, 'leader', 'db');
    const leader = await InlineApplyPipe.open(leaderDb, {});
    const value = Buffer.alloc(valueBytes, 0x61);
    for (let from = 1; from <= keys; from += 1000) {
      const batch: Entry[] = [];
      for (let i = from; i < from + 1000 && i <= keys; i++) {
        batch.push({ term: 1, index: i, type: EntryType.Normal, data: etcdserverpb.InternalRaftRequest.encode({ header: { ID: BigInt(i) }, put: { key: Buffer.from(`bench/${String(i).padStart(9, '0')}`), value } }).finish() });
      }
      await leader.pipe.apply(batch);
    }
    await leader.pipe.flush();
    const pool = new ReadPool(leaderDb);
    const copyPath = join(dir, 'copy.lmdb');
    let t = performance.now();
    const copy = await pool.storeCopy(copyPath);
    const copyMs = performance.now() - t;

    const recvPath = join(dir, 'recv.tmp');
    const server = http2.createServer();
    server.on('stream', (stream) => {
      receiveSnapshot(stream, { tmpPath: recvPath, from: 1n, to: 2n, maxBytes: 2 ** 40 }).then(
        () => {
          stream.respond({ ':status': 204 });
          stream.end();
        },
        (err: Error) => {
          stream.respond({ ':status': 400 });
          stream.end(err.message);
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const m = newMessage({
      type: MessageType.MsgSnap, from: 1n, to: 2n, term: 1,
      snapshot: { data: new Uint8Array(0), metadata: { index: copy.appliedIndex, term: copy.consistentTerm, confState: { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
    });
    t = performance.now();
    await postSnapshot({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, headers: {}, message: m, path: copyPath, sizeBytes: copy.sizeBytes });
    const sendMs = performance.now() - t;
    server.close();

    const follower = await InlineApplyPipe.open(join(dir, 'follower', 'db'), {});
    t = performance.now();
    const cpu0 = process.cpuUsage();
    const installed = await follower.pipe.installSnapshot(recvPath);
    const installMs = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    const installCpuMs = (cpu.user + cpu.system) / 1000;
    const liveBytes = statSync(leaderDb).size;
    const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
    console.log(JSON.stringify({
      date: new Date().toISOString(), keys, valueBytes, leaderDbMiB: mib(liveBytes), copyMiB: mib(copy.sizeBytes), appliedIndex: installed.appliedIndex,
      copyMs: Math.round(copyMs), sendMs: Math.round(sendMs), sendMiBps: (copy.sizeBytes / 1024 / 1024 / (sendMs / 1000)).toFixed(0), installMs: Math.round(installMs), installCpuMs: Math.round(installCpuMs),
    }));
    await follower.pipe.close();
    await leader.pipe.close();
    await pool.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
