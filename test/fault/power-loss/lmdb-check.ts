/**
 * An offline integrity check of one LMDB data file, run in a child process (a corrupt file can
 * crash the process that reads it): `node lmdb-check.js <member/snap/db>`.
 *
 * It opens the file read-only, reads every entry of every dbi (every branch, leaf and overflow
 * page a tree reaches), checks the cross-dbi invariants of docs/storage-lmdb.md (each revision has
 * its key-index entry; each key's `latest` head is its newest key-index entry and is stored in
 * `rev`; `tombs` holds exactly the keys whose head is a tombstone), computes HashKV over the whole
 * store, and prints one JSON line: { appliedIndex, currentRev, counts, hash }. Any failure exits
 * non-zero with the reason on stderr.
 */
import { LmdbBackend } from '../../../src/backend/backend.js';
import { LmdbKvReader } from '../../../src/mvcc/kvstore.js';
import { hashKv } from '../../../src/mvcc/hash.js';
import { decodeLatestRecord, decodeKvRecord } from '../../../src/mvcc/records.js';
import { encodeIndexKey } from '../../../src/mvcc/key-index.js';
import { decodeRevision, encodeRevision } from '../../../src/mvcc/revision.js';

function check(path: string): void {
  const backend = LmdbBackend.open({ path, writable: false });
  const reader = new LmdbKvReader(backend);
  const status = reader.status();
  const counts: Record<string, number> = {};
  const txn = backend.beginRead();
  try {
    const opts = { transaction: txn };
    const dbis = { meta: backend.meta, rev: backend.rev, kidx: backend.kidx, latest: backend.latest, tombs: backend.tombs, leaseKeys: backend.leaseKeys, leases: backend.leases };
    for (const [name, db] of Object.entries(dbis)) {
      let n = 0;
      for (const e of db.getRange(opts)) {
        if (!Buffer.isBuffer(e.key) || !Buffer.isBuffer(e.value)) throw new Error(`${name}: entry ${n} is not binary`);
        n++;
      }
      counts[name] = n;
    }
    // Every revision: a record that decodes, with its key-index entry.
    for (const { key, value } of backend.rev.getRange(opts)) {
      const { main, sub } = decodeRevision(key);
      const rec = decodeKvRecord(value);
      if (main > status.currentRev) throw new Error(`rev: revision ${main} above current_rev ${status.currentRev}`);
      if (backend.kidx.get(encodeIndexKey(rec.key, main, sub), opts) === undefined) throw new Error(`kidx: no entry for revision ${main}.${sub}`);
    }
    if (counts['rev'] !== counts['kidx']) throw new Error(`rev has ${counts['rev']} entries but kidx ${counts['kidx']}`);
    let tombstones = 0;
    for (const { key, value } of backend.latest.getRange(opts)) {
      const head = decodeLatestRecord(value);
      const ik = encodeIndexKey(key, head.modRevision, head.sub);
      if (backend.kidx.get(ik, opts) === undefined) throw new Error(`latest: head of ${key.toString('hex')} (revision ${head.modRevision}) has no kidx entry`);
      if (backend.rev.get(encodeRevision(head.modRevision, head.sub), opts) === undefined) throw new Error(`latest: head revision ${head.modRevision} missing from rev`);
      if (head.tombstone !== (backend.tombs.get(key, opts) !== undefined)) throw new Error(`tombs disagrees with latest for ${key.toString('hex')}`);
      if (head.tombstone) tombstones++;
    }
    if (tombstones !== counts['tombs']) throw new Error(`tombs has ${counts['tombs']} keys but latest ${tombstones} tombstones`);
  } finally {
    txn.done();
  }
  const hash = reader.view((v) => hashKv(v, status.currentRev));
  process.stdout.write(JSON.stringify({ appliedIndex: status.appliedIndex, currentRev: status.currentRev, counts, hash: hash.hash }) + '\n');
}

try {
  check(process.argv[2]!);
  process.exit(0);
} catch (err) {
  process.stderr.write(`lmdb-check: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
