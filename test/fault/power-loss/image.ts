/**
 * Builds the disk image a power cut could leave, from the files as they were when the journaled
 * process started (the baseline, all durable) and the shim's journal of what it did since
 * (docs/testing.md, "Power loss"). The model:
 *
 * - File data: a WRITE, TRUNC or FALLOC of file F is durable once an fsync/fdatasync of F that
 *   started after it returned (per file, per identity: a name reused by a new file is a new
 *   file), or a sync()/syncfs(), or, for a write through an O_SYNC/O_DSYNC descriptor, at once.
 * - Directory entries: a create, rename, unlink, mkdir or rmdir is durable once an fsync of the
 *   directory holding the name (both, for a rename) that started after it returned.
 * - Everything else never reached the disk ('drop'), or ('torn') any part of it did: a random
 *   subset of the 4 KiB pages of the unsynced writes, in any order, and a random prefix of the
 *   unsynced directory operations (file systems journal metadata in order). Files named by
 *   `inOrder` lose only a suffix of their unsynced pages: the WAL, whose reader refuses a log
 *   where a later unsynced page survived an earlier lost one (docs/storage-wal.md, a false
 *   alarm that names the offset and never loses an acknowledged entry; not what this models).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { OPEN_CREATED, OPEN_DIR, RecordType, WRITE_DSYNC, WRITE_ZERO, type JournalRecord } from './journal.js';

/** The files and directories under a root, as they were before the journaled run (all durable). */
export interface Baseline {
  readonly root: string;
  readonly dirs: ReadonlySet<string>;
  readonly files: ReadonlyMap<string, { readonly ino: number; readonly data: Buffer }>;
}

/** `root` may not exist yet (a first start journaled from the beginning): then the baseline is empty. */
export function captureBaseline(root: string): Baseline {
  const dirs = new Set<string>();
  const files = new Map<string, { ino: number; data: Buffer }>();
  if (!existsSync(root)) return { root, dirs, files };
  const walk = (dir: string): void => {
    dirs.add(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.set(p, { ino: statSync(p).ino, data: readFileSync(p) });
    }
  };
  walk(root);
  return { root, dirs, files };
}

export type PowerLossMode = 'drop' | 'torn';

export interface ImageOptions {
  readonly baseline: Baseline;
  readonly records: readonly JournalRecord[];
  readonly mode: PowerLossMode;
  /** Uniform in [0, 1); seeded by the caller. */
  readonly rng: () => number;
  /** Files whose unsynced pages may be lost only as a suffix (see the module comment). */
  readonly inOrder?: (path: string) => boolean;
  /** Where the image is written (the root's contents land directly in it). */
  readonly out: string;
}

export interface ImageSummary {
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
  /** Unsynced data pages: lost / kept anyway (torn). */
  readonly pagesLost: number;
  readonly pagesKept: number;
  /** Unsynced directory operations: lost / kept anyway. */
  readonly dirOpsLost: number;
  readonly dirOpsKept: number;
  /** UNSUPPORTED records (e.g. a shared writable mmap), with the file they concern. */
  readonly unsupported: readonly { readonly text: string; readonly path: string | undefined }[];
}

const PAGE_BYTES = 4096;

interface DataOp {
  readonly seq: number;
  readonly key: string;
  readonly rec: JournalRecord;
}
interface NsOp {
  readonly seq: number;
  readonly rec: JournalRecord;
  /** create: the new file's identity. */
  readonly key?: string;
}
/** One piece of a data op: a page of a write, or a whole truncate/fallocate. */
interface Piece {
  readonly seq: number;
  readonly apply: (f: FileImage) => void;
}
interface FileImage {
  data: Buffer;
  size: number;
}

const parentOf = (p: string): string => dirname(p);

export function buildImage(opts: ImageOptions): ImageSummary {
  const { baseline, records, mode, rng } = opts;
  // Pass 1: identities (ino -> current file), syncs, and the operations in order.
  const identity = new Map<number, string>();
  const generation = new Map<number, number>();
  const pathOfKey = new Map<string, string>();
  const content = new Map<string, FileImage>();
  for (const [path, f] of baseline.files) {
    const key = `${f.ino}#0`;
    identity.set(f.ino, key);
    pathOfKey.set(key, path);
    content.set(key, { data: Buffer.from(f.data), size: f.data.length });
  }
  const dataOps: DataOp[] = [];
  const nsOps: NsOp[] = [];
  const fileCover = new Map<string, number>();
  const dirCover = new Map<string, number>();
  let allCover = 0;
  const unsupported: { text: string; path: string | undefined }[] = [];
  const keyOf = (r: JournalRecord): string => {
    const k = identity.get(r.ino);
    if (k === undefined) throw new Error(`power-loss image: record ${r.seq} (type ${r.type}) names inode ${r.ino}, which was never opened`);
    return k;
  };
  for (const r of records) {
    switch (r.type) {
      case RecordType.Open: {
        if ((r.aux & OPEN_DIR) !== 0) break;
        if ((r.aux & OPEN_CREATED) !== 0) {
          const g = (generation.get(r.ino) ?? 0) + 1;
          generation.set(r.ino, g);
          const key = `${r.ino}#${g}`;
          identity.set(r.ino, key);
          content.set(key, { data: Buffer.alloc(0), size: 0 });
          nsOps.push({ seq: r.seq, rec: r, key });
        } else if (!identity.has(r.ino)) {
          throw new Error(`power-loss image: ${r.path} (inode ${r.ino}) was opened but is neither in the baseline nor created by the run`);
        }
        pathOfKey.set(keyOf(r), r.path);
        break;
      }
      case RecordType.Write:
      case RecordType.Trunc:
      case RecordType.Falloc:
        dataOps.push({ seq: r.seq, key: keyOf(r), rec: r });
        break;
      case RecordType.Sync: {
        const k = keyOf(r);
        fileCover.set(k, Math.max(fileCover.get(k) ?? 0, r.aux));
        break;
      }
      case RecordType.DirSync:
        dirCover.set(r.path, Math.max(dirCover.get(r.path) ?? 0, r.aux));
        break;
      case RecordType.SyncAll:
        allCover = Math.max(allCover, r.aux);
        break;
      case RecordType.Rename:
      case RecordType.Unlink:
      case RecordType.Mkdir:
      case RecordType.Rmdir:
        nsOps.push({ seq: r.seq, rec: r });
        break;
      case RecordType.Unsupported: {
        const k = identity.get(r.ino);
        unsupported.push({ text: r.path, path: k === undefined ? undefined : pathOfKey.get(k) });
        break;
      }
    }
  }

  // Pass 2: which data pieces reach the image.
  const inOrder = opts.inOrder ?? (() => false);
  const durableData = (op: DataOp): boolean =>
    op.seq <= allCover || op.seq <= (fileCover.get(op.key) ?? 0) || (op.rec.type === RecordType.Write && (op.rec.aux & WRITE_DSYNC) !== 0);
  const kept: { piece: Piece; key: string }[] = [];
  const unsyncedByKey = new Map<string, Piece[]>();
  for (const op of dataOps) {
    const pieces = piecesOf(op.rec);
    if (durableData(op)) for (const piece of pieces) kept.push({ piece, key: op.key });
    else {
      let list = unsyncedByKey.get(op.key);
      if (list === undefined) unsyncedByKey.set(op.key, (list = []));
      list.push(...pieces);
    }
  }
  let pagesLost = 0;
  let pagesKept = 0;
  for (const [key, pieces] of unsyncedByKey) {
    let keep: boolean[];
    if (mode === 'drop') keep = pieces.map(() => false);
    else if (inOrder(pathOfKey.get(key) ?? '')) {
      const n = Math.floor(rng() * (pieces.length + 1));
      keep = pieces.map((_, i) => i < n);
    } else keep = pieces.map(() => rng() < 0.5);
    pieces.forEach((piece, i) => (keep[i] ? (kept.push({ piece, key }), pagesKept++) : pagesLost++));
  }
  // Stable sort: pieces of one write keep their order.
  kept.sort((a, b) => a.piece.seq - b.piece.seq);
  for (const { piece, key } of kept) piece.apply(content.get(key)!);

  // Pass 3: the namespace.
  const coveredDir = (dir: string, seq: number): boolean => seq <= allCover || seq <= (dirCover.get(dir) ?? 0);
  const durableNs = (op: NsOp): boolean => {
    const r = op.rec;
    if (r.type === RecordType.Rename) return coveredDir(parentOf(r.path), op.seq) && coveredDir(parentOf(r.path2), op.seq);
    return coveredDir(parentOf(r.path), op.seq);
  };
  const unsyncedNs = nsOps.filter((op) => !durableNs(op));
  const cut = mode === 'torn' ? Math.floor(rng() * (unsyncedNs.length + 1)) : 0;
  const keptNs = new Set<NsOp>([...nsOps.filter(durableNs), ...unsyncedNs.slice(0, cut)]);
  const names = new Map<string, string>();
  for (const [path, f] of baseline.files) names.set(path, `${f.ino}#0`);
  const dirs = new Set(baseline.dirs);
  for (const op of nsOps) {
    if (!keptNs.has(op)) continue;
    const r = op.rec;
    switch (r.type) {
      case RecordType.Open:
        names.set(r.path, op.key!);
        break;
      case RecordType.Rename: {
        const k = names.get(r.path);
        if (k !== undefined) {
          names.set(r.path2, k);
          names.delete(r.path);
        }
        break;
      }
      case RecordType.Unlink:
        names.delete(r.path);
        break;
      case RecordType.Mkdir:
        dirs.add(r.path);
        break;
      case RecordType.Rmdir:
        dirs.delete(r.path);
        break;
    }
  }

  // Write it out: a file is reachable only when every directory above it (below the root) is.
  const reachable = (p: string): boolean => {
    for (let d = parentOf(p); d.length >= baseline.root.length; d = parentOf(d)) {
      if (!dirs.has(d)) return false;
      if (d === baseline.root) return true;
    }
    return false;
  };
  mkdirSync(opts.out, { recursive: true });
  for (const d of [...dirs].sort()) if (d === baseline.root || reachable(d)) mkdirSync(join(opts.out, relative(baseline.root, d)), { recursive: true });
  const files: { path: string; bytes: number }[] = [];
  for (const [path, key] of [...names].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!reachable(path)) continue;
    const f = content.get(key)!;
    const rel = relative(baseline.root, path);
    writeFileSync(join(opts.out, rel), f.data.subarray(0, f.size));
    files.push({ path: rel, bytes: f.size });
  }
  return { files, pagesLost, pagesKept, dirOpsLost: unsyncedNs.length - cut, dirOpsKept: cut, unsupported };
}

/** A write split at 4 KiB file offsets (the unit a disk writes whole), or a size change as one piece. */
function piecesOf(r: JournalRecord): Piece[] {
  const out: Piece[] = [];
  if (r.type === RecordType.Write) {
    const zero = (r.aux & WRITE_ZERO) !== 0;
    for (let at = r.off; at < r.off + r.len; ) {
      const end = Math.min(r.off + r.len, (Math.floor(at / PAGE_BYTES) + 1) * PAGE_BYTES);
      const from = at;
      out.push({
        seq: r.seq,
        apply: (f) => {
          ensure(f, end);
          if (from > f.size) f.data.fill(0, f.size, from);
          if (zero) f.data.fill(0, from, end);
          else r.data!.copy(f.data, from, from - r.off, end - r.off);
          f.size = Math.max(f.size, end);
        },
      });
      at = end;
    }
  } else if (r.type === RecordType.Trunc) {
    out.push({
      seq: r.seq,
      apply: (f) => {
        ensure(f, r.len);
        if (r.len > f.size) f.data.fill(0, f.size, r.len);
        f.size = r.len;
      },
    });
  } else if (r.type === RecordType.Falloc) {
    const FALLOC_FL_KEEP_SIZE = 1;
    out.push({
      seq: r.seq,
      apply: (f) => {
        if ((r.aux & FALLOC_FL_KEEP_SIZE) !== 0 || r.off + r.len <= f.size) return;
        ensure(f, r.off + r.len);
        f.data.fill(0, f.size, r.off + r.len);
        f.size = r.off + r.len;
      },
    });
  }
  return out;
}

function ensure(f: FileImage, bytes: number): void {
  if (f.data.length >= bytes) return;
  const grown = Buffer.alloc(Math.max(bytes, f.data.length * 2));
  f.data.copy(grown, 0, 0, f.size);
  f.data = grown;
}
