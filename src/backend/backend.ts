/**
 * LmdbBackend: the LMDB environment and its dbis (docs/storage-lmdb.md).
 *
 * Invariant: exactly one writer (the apply worker) opens with `writable: true`; nothing
 * else opens a write transaction. Writers use noMetaSync: every commit's pages are synced
 * before its meta page is written, so the file survives a power loss intact at a recent
 * commit and the WAL replays the rest; `flush()` syncs the last meta page on demand.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { DBI_KIDX, DBI_LATEST, DBI_LEASE_KEYS, DBI_LEASES, DBI_META, DBI_REV, DBI_TOMBS, DBIS, META_SCHEMA_VERSION, SCHEMA_VERSION } from './schema.js';
import { readU64, u64Bytes } from '../util/pure/u64be.js';
import { fsyncDir } from '../util/fsync-dir.js';

export type Dbi = Database<Buffer, Buffer>;

export interface LmdbBackendOptions {
  /** The data file: `<data-dir>/member/snap/db`. */
  readonly path: string;
  /** True only in the apply worker (or in-thread mode's single owner). */
  readonly writable: boolean;
  /** Initial map size in bytes; lmdb-js grows it on demand. */
  readonly mapSizeBytes?: number;
  /**
   * Commit durability of the writer (docs/storage-lmdb.md, "Durability"):
   * 'noMetaSync' (default): one fdatasync per commit (per apply batch), the meta page written
   *   after it without a sync: a power loss loses at most the last commit and never corrupts
   *   the file; the WAL replays what was lost (test/fault/power-loss.test.ts).
   * 'noSync': no fsync at commit. Safe against process crashes only: a power loss between
   *   `flush()`es can corrupt the file (the power-loss test's canary shows it). For benchmarks
   *   and that canary; never a production mode.
   */
  readonly syncMode?: 'noSync' | 'noMetaSync';
}

/** Read options for lmdb-js: empty inside the writer's transaction, or a read txn. */
export interface ReadOpts {
  transaction?: Transaction;
}

/**
 * Where LMDB keeps its meta magic in the first page (as lmdb-js writes it), and the magic.
 * bbolt (etcd's backend) keeps 0xED0CDAED at offset 16 instead.
 */
const LMDB_MAGIC_OFFSET = 24;
const LMDB_MAGIC = 0xbeefc0de;

/**
 * Refuses a data file that is not LMDB (etcd's bbolt file, anything else) before LMDB
 * touches it: lmdb-js crashes the process on such a file, and would leave a lock file
 * beside it. A missing or empty file is a new store.
 */
export function checkLmdbFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const head = Buffer.alloc(LMDB_MAGIC_OFFSET + 4);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < head.length || head.readUInt32LE(LMDB_MAGIC_OFFSET) !== LMDB_MAGIC) {
      const bolt = n >= 20 && head.readUInt32LE(16) === 0xed0cdaed ? ' (it looks like an etcd/bbolt data file)' : '';
      throw new Error(`${path}: not an etcd-ts data file: no LMDB magic at offset ${LMDB_MAGIC_OFFSET}${bolt}; refusing to open it`);
    }
  } finally {
    closeSync(fd);
  }
}

export class LmdbBackend {
  readonly path: string;
  readonly writable: boolean;
  readonly env: RootDatabase<Buffer, Buffer>;
  readonly meta: Dbi;
  readonly rev: Dbi;
  readonly kidx: Dbi;
  readonly latest: Dbi;
  readonly tombs: Dbi;
  readonly leaseKeys: Dbi;
  /** Lease records (docs/leases.md). */
  readonly leases: Dbi;
  readonly #revScan: Dbi;
  #closed = false;

  private constructor(opts: LmdbBackendOptions) {
    this.path = opts.path;
    this.writable = opts.writable;
    if (opts.writable) mkdirSync(dirname(opts.path), { recursive: true });
    this.env = open<Buffer, Buffer>({
      path: opts.path,
      noSubdir: true,
      readOnly: !opts.writable,
      noSync: opts.syncMode === 'noSync',
      noMetaSync: (opts.syncMode ?? 'noMetaSync') === 'noMetaSync',
      overlappingSync: false,
      maxDbs: DBIS.length + 4,
      keyEncoding: 'binary',
      encoding: 'binary',
      ...(opts.mapSizeBytes !== undefined ? { mapSize: opts.mapSizeBytes } : {}),
    });
    const dbOpts = { keyEncoding: 'binary', encoding: 'binary' } as const;
    this.meta = this.env.openDB<Buffer, Buffer>(DBI_META.name, dbOpts);
    this.rev = this.env.openDB<Buffer, Buffer>(DBI_REV.name, dbOpts);
    this.kidx = this.env.openDB<Buffer, Buffer>(DBI_KIDX.name, dbOpts);
    this.latest = this.env.openDB<Buffer, Buffer>(DBI_LATEST.name, dbOpts);
    this.tombs = this.env.openDB<Buffer, Buffer>(DBI_TOMBS.name, dbOpts);
    this.leaseKeys = this.env.openDB<Buffer, Buffer>(DBI_LEASE_KEYS.name, dbOpts);
    this.leases = this.env.openDB<Buffer, Buffer>(DBI_LEASES.name, dbOpts);
    // Opened here, not on first use: opening a dbi inside a read transaction ends it.
    this.#revScan = this.env.openDB<Buffer, Buffer>(DBI_REV.name, {
      keyEncoding: 'binary',
      encoder: { encode: (v: Buffer) => v, decode: (b: Buffer, size?: number) => (size === undefined ? b : b.subarray(0, size)), needsStableBuffer: false },
    } as never);
  }

  /** Open (and, for the writer, create) the environment; refuses a file of another layout version. */
  static open(opts: LmdbBackendOptions): LmdbBackend {
    checkLmdbFile(opts.path);
    const b = new LmdbBackend(opts);
    const v = b.meta.get(META_SCHEMA_VERSION);
    if (v === undefined) {
      if (opts.writable) {
        b.env.transactionSync(() => b.meta.putSync(META_SCHEMA_VERSION, u64Bytes(SCHEMA_VERSION)));
        // A new file: its name is durable only once its directory is synced (the WAL may later
        // release entries this file holds, so it must not vanish in a power loss).
        fsyncDir(dirname(opts.path));
      }
    } else if (v.length !== 8 || readU64(v, 0) !== SCHEMA_VERSION) {
      void b.env.close();
      throw new Error(`${opts.path}: unsupported storage schema version (expected ${SCHEMA_VERSION}); refusing to open`);
    }
    return b;
  }

  /**
   * The `rev` dbi for long scans (HashKV, snapshots): values are views into lmdb-js's shared read
   * buffer, not copies, so each one is valid only until the iteration moves on. Use them at once
   * (copy what must outlive the step). Measured at 1,000,000 revisions: 0.7 s instead of 1.9 s
   * for a full scan, the copy being most of the cost.
   */
  revScan(): Dbi {
    return this.#revScan;
  }

  /** Run `fn` in the one write transaction (writer only). Nested calls are child transactions. */
  write<T>(fn: () => T): T {
    if (!this.writable) throw new Error('LmdbBackend: read-only handle cannot write');
    return this.env.transactionSync(fn);
  }

  /** A read transaction over the latest committed state; call `done()` when finished. */
  beginRead(): Transaction {
    this.env.resetReadTxn();
    return this.env.useReadTransaction();
  }

  /** Sync everything committed so far to disk (mdb_env_sync). */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      (this.env as unknown as { sync(cb: (err?: unknown) => void): void }).sync((err) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
      );
    });
  }

  /** Physical size of the data file (Status.dbSize). */
  dbSizeBytes(): number {
    return statSync(this.path).size;
  }

  /** Pages used by the dbis and the free list's complement (Status.dbSizeInUse), approximate. */
  dbSizeInUseBytes(): number {
    let pages = 4; // two meta pages + main/free db roots, roughly
    for (const db of [this.meta, this.rev, this.kidx, this.latest, this.tombs, this.leaseKeys, this.leases]) {
      const s = db.getStats() as { treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number; pageSize: number };
      pages += s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
    }
    const pageSize = (this.env.getStats() as { pageSize: number }).pageSize;
    return pages * pageSize;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Flush (writer) and close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.writable) await this.flush();
    this.#closed = true;
    await this.env.close();
  }
}
