/**
 * BoltReader: reads a bbolt file (src/backend/bbolt/format.ts) without bbolt: etcd snapshots
 * and data files, and the ones BoltWriter writes. Read-only, page by page through a file
 * descriptor (no mmap), so a truncated or damaged file is an error with a page number, never a
 * crash. Nested buckets are not followed (etcd has none).
 *
 *   const r = BoltReader.open(path);
 *   r.bucketNames();                 // in bbolt order
 *   for (const [k, v] of r.entries(Buffer.from('key'))) ...
 *   r.check();                       // [] or the problems found (bbolt tx.Check's rules)
 *   r.close();
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  BOLT_MAGIC, BOLT_VERSION, BUCKET_HEADER_BYTES, ELEMENT_BYTES, FLAG_BRANCH, FLAG_FREELIST, FLAG_LEAF, LEAF_FLAG_BUCKET,
  META_CHECKSUM_OFFSET, PAGE_HEADER_BYTES, fnv1a64,
} from './format.js';

export class BoltFormatError extends Error {
  override name = 'BoltFormatError';
}

export interface BoltMeta {
  readonly pageSize: number;
  readonly rootPgid: number;
  /** Page of the freelist, or undefined when the file keeps none (bbolt's NoFreelistSync, as etcd uses). */
  readonly freelistPgid: number | undefined;
  /** High-water mark: pages in use. */
  readonly pgid: number;
  readonly txid: number;
}

interface Page {
  readonly id: number;
  readonly flags: number;
  readonly count: number;
  readonly overflow: number;
  /** The whole page, overflow included. */
  readonly buf: Buffer;
}

const NO_FREELIST = 0xffffffffffffffffn;

export class BoltReader {
  readonly meta: BoltMeta;
  readonly fileBytes: number;
  #fd: number;

  private constructor(fd: number, fileBytes: number, meta: BoltMeta) {
    this.#fd = fd;
    this.fileBytes = fileBytes;
    this.meta = meta;
  }

  /** Opens `path`; `sizeBytes` limits the file to its first bytes (a snapshot with a hash trailer). */
  static open(path: string, sizeBytes?: number): BoltReader {
    const fd = openSync(path, 'r');
    try {
      const fileBytes = sizeBytes ?? fstatSync(fd).size;
      const meta = readMeta(fd, fileBytes, path);
      if (meta.pgid * meta.pageSize > fileBytes) {
        throw new BoltFormatError(`${path}: truncated: ${meta.pgid} pages of ${meta.pageSize} bytes expected, the file has ${fileBytes} bytes`);
      }
      return new BoltReader(fd, fileBytes, meta);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  /** bbolt's tx.Size(): the bytes the database uses. */
  get sizeBytes(): number {
    return this.meta.pgid * this.meta.pageSize;
  }

  #page(id: number): Page {
    const ps = this.meta.pageSize;
    if (id < 0 || id >= this.meta.pgid) throw new BoltFormatError(`page ${id}: beyond the high-water mark ${this.meta.pgid}`);
    const head = Buffer.alloc(PAGE_HEADER_BYTES);
    readFully(this.#fd, head, id * ps);
    const storedId = Number(head.readBigUInt64LE(0));
    const flags = head.readUInt16LE(8);
    const count = head.readUInt16LE(10);
    const overflow = head.readUInt32LE(12);
    if (storedId !== id) throw new BoltFormatError(`page ${id}: header says page ${storedId}`);
    if (id + overflow >= this.meta.pgid) throw new BoltFormatError(`page ${id}: overflow ${overflow} beyond the high-water mark`);
    const buf = Buffer.alloc((overflow + 1) * ps);
    readFully(this.#fd, buf, id * ps);
    return { id, flags, count, overflow, buf };
  }

  /** [key, value, flags] of the root bucket: one per bucket. */
  *#walk(root: number, inline: Buffer | undefined, visit?: (p: Page) => void): Generator<[Buffer, Buffer, number]> {
    if (inline !== undefined) {
      yield* leafElements({ id: 0, flags: inline.readUInt16LE(8), count: inline.readUInt16LE(10), overflow: 0, buf: inline });
      return;
    }
    const stack: number[] = [root];
    // Depth-first, children in order: a stack of page ids, pushed in reverse.
    while (stack.length > 0) {
      const p = this.#page(stack.pop()!);
      visit?.(p);
      if (p.flags & FLAG_LEAF) {
        yield* leafElements(p);
      } else if (p.flags & FLAG_BRANCH) {
        const kids: number[] = [];
        for (let i = 0; i < p.count; i++) {
          const el = PAGE_HEADER_BYTES + ELEMENT_BYTES * i;
          if (el + ELEMENT_BYTES > p.buf.length) throw new BoltFormatError(`page ${p.id}: element ${i} beyond the page`);
          kids.push(Number(p.buf.readBigUInt64LE(el + 8)));
        }
        for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
      } else {
        throw new BoltFormatError(`page ${p.id}: not a branch or leaf page (flags 0x${p.flags.toString(16)})`);
      }
    }
  }

  #bucketRef(name: Uint8Array): { root: number; inline?: Buffer } | undefined {
    for (const [k, v, flags] of this.#walk(this.meta.rootPgid, undefined)) {
      if (!k.equals(name)) continue;
      if ((flags & LEAF_FLAG_BUCKET) === 0) return undefined;
      return bucketRef(v, k);
    }
    return undefined;
  }

  /** Top-level bucket names, in order. */
  bucketNames(): Buffer[] {
    const out: Buffer[] = [];
    for (const [k, , flags] of this.#walk(this.meta.rootPgid, undefined)) if (flags & LEAF_FLAG_BUCKET) out.push(k);
    return out;
  }

  hasBucket(name: Uint8Array): boolean {
    return this.#bucketRef(name) !== undefined;
  }

  /** The entries of a top-level bucket in key order (nothing when it does not exist). */
  *entries(name: Uint8Array): Generator<[Buffer, Buffer]> {
    const ref = this.#bucketRef(name);
    if (ref === undefined) return;
    for (const [k, v, flags] of this.#walk(ref.root, ref.inline)) {
      if (flags & LEAF_FLAG_BUCKET) continue; // nested bucket: etcd has none
      yield [k, v];
    }
  }

  /** bbolt's tx.Check: every page below the high-water mark reachable or free, once; keys in order. */
  check(): string[] {
    const errors: string[] = [];
    const reachable = new Set<number>([0, 1]);
    const freed = new Set<number>();
    try {
      if (this.meta.freelistPgid !== undefined) {
        const f = this.#page(this.meta.freelistPgid);
        if ((f.flags & FLAG_FREELIST) === 0) errors.push(`page ${f.id}: freelist page has flags 0x${f.flags.toString(16)}`);
        for (let i = 0; i <= f.overflow; i++) reachable.add(f.id + i);
        let count = f.count;
        let idx = 0;
        if (count === 0xffff) {
          count = Number(f.buf.readBigUInt64LE(PAGE_HEADER_BYTES));
          idx = 1;
        }
        for (let i = 0; i < count; i++) {
          const off = PAGE_HEADER_BYTES + 8 * (idx + i);
          if (off + 8 > f.buf.length) {
            errors.push(`page ${f.id}: freelist longer than its page`);
            break;
          }
          const id = Number(f.buf.readBigUInt64LE(off));
          if (freed.has(id)) errors.push(`page ${id}: already freed`);
          freed.add(id);
        }
      }
      const mark = (p: Page): void => {
        for (let i = 0; i <= p.overflow; i++) {
          if (reachable.has(p.id + i)) errors.push(`page ${p.id + i}: multiple references`);
          reachable.add(p.id + i);
        }
        if (freed.has(p.id)) errors.push(`page ${p.id}: reachable freed`);
      };
      const checkOrder = (gen: Generator<[Buffer, Buffer, number]>, what: string): [Buffer, Buffer, number][] => {
        const all: [Buffer, Buffer, number][] = [];
        let last: Buffer | undefined;
        for (const e of gen) {
          if (last !== undefined && Buffer.compare(e[0], last) <= 0) errors.push(`${what}: key ${e[0].toString('hex')} out of order`);
          last = e[0];
          if (e[2] & LEAF_FLAG_BUCKET) all.push(e);
        }
        return all;
      };
      const buckets = checkOrder(this.#walk(this.meta.rootPgid, undefined, mark), 'root bucket');
      for (const [name, v] of buckets) {
        const ref = bucketRef(v, name);
        checkOrder(this.#walk(ref.root, ref.inline, mark), `bucket ${name.toString()}`);
      }
      // Without a freelist bbolt takes every unreachable page as free.
      if (this.meta.freelistPgid !== undefined) {
        for (let i = 0; i < this.meta.pgid; i++) if (!reachable.has(i) && !freed.has(i)) errors.push(`page ${i}: unreachable unfreed`);
      }
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
    return errors;
  }
}

function bucketRef(v: Buffer, name: Buffer): { root: number; inline?: Buffer } {
  if (v.length < BUCKET_HEADER_BYTES) throw new BoltFormatError(`bucket ${name.toString()}: header of ${v.length} bytes`);
  const root = Number(v.readBigUInt64LE(0));
  if (root !== 0) return { root };
  const inline = v.subarray(BUCKET_HEADER_BYTES);
  if (inline.length < PAGE_HEADER_BYTES) throw new BoltFormatError(`bucket ${name.toString()}: inline page of ${inline.length} bytes`);
  return { root: 0, inline };
}

function* leafElements(p: Page): Generator<[Buffer, Buffer, number]> {
  if ((p.flags & FLAG_LEAF) === 0) throw new BoltFormatError(`page ${p.id}: not a leaf`);
  for (let i = 0; i < p.count; i++) {
    const el = PAGE_HEADER_BYTES + ELEMENT_BYTES * i;
    if (el + ELEMENT_BYTES > p.buf.length) throw new BoltFormatError(`page ${p.id}: element ${i} beyond the page`);
    const flags = p.buf.readUInt32LE(el);
    const pos = p.buf.readUInt32LE(el + 4);
    const ksize = p.buf.readUInt32LE(el + 8);
    const vsize = p.buf.readUInt32LE(el + 12);
    const start = el + pos;
    if (start + ksize + vsize > p.buf.length) throw new BoltFormatError(`page ${p.id}: element ${i} data beyond the page`);
    yield [p.buf.subarray(start, start + ksize), p.buf.subarray(start + ksize, start + ksize + vsize), flags];
  }
}

function readFully(fd: number, buf: Buffer, pos: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, pos + off);
    if (n === 0) throw new BoltFormatError(`unexpected end of file at byte ${pos + off}`);
    off += n;
  }
}

function parseMeta(page: Buffer): BoltMeta | string {
  const m = page.subarray(PAGE_HEADER_BYTES, PAGE_HEADER_BYTES + 64);
  if (m.length < 64) return 'short meta page';
  if (m.readUInt32LE(0) !== BOLT_MAGIC) return 'no bbolt magic';
  if (m.readUInt32LE(4) !== BOLT_VERSION) return `bbolt version ${m.readUInt32LE(4)} (want ${BOLT_VERSION})`;
  const sum = m.readBigUInt64LE(META_CHECKSUM_OFFSET);
  if (sum !== 0n && sum !== fnv1a64(m.subarray(0, META_CHECKSUM_OFFSET))) return 'meta checksum mismatch';
  const pageSize = m.readUInt32LE(8);
  if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) !== 0) return `page size ${pageSize}`;
  return {
    pageSize,
    rootPgid: Number(m.readBigUInt64LE(16)),
    freelistPgid: m.readBigUInt64LE(32) === NO_FREELIST ? undefined : Number(m.readBigUInt64LE(32)),
    pgid: Number(m.readBigUInt64LE(40)),
    txid: Number(m.readBigUInt64LE(48)),
  };
}

function readMeta(fd: number, fileBytes: number, path: string): BoltMeta {
  const first = Buffer.alloc(Math.min(4096, fileBytes));
  if (first.length < PAGE_HEADER_BYTES + 64) throw new BoltFormatError(`${path}: ${fileBytes} bytes: too short for a bbolt file`);
  readFully(fd, first, 0);
  const m0 = parseMeta(first);
  // The second meta page is at one page size; take the size from meta 0, or try the usual ones.
  const sizes = typeof m0 === 'string' ? [4096, 1024, 2048, 8192, 16384, 65536] : [m0.pageSize];
  let m1: BoltMeta | string = 'no second meta page';
  for (const ps of sizes) {
    if (ps + PAGE_HEADER_BYTES + 64 > fileBytes) continue;
    const b = Buffer.alloc(PAGE_HEADER_BYTES + 64);
    readFully(fd, b, ps);
    m1 = parseMeta(b);
    if (typeof m1 !== 'string') break;
  }
  const valid = [m0, m1].filter((m): m is BoltMeta => typeof m !== 'string');
  if (valid.length === 0) throw new BoltFormatError(`${path}: not a bbolt file (meta 0: ${String(m0)}; meta 1: ${String(m1)})`);
  return valid.reduce((a, b) => (b.txid > a.txid ? b : a));
}
