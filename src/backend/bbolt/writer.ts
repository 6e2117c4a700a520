/**
 * BoltWriter: writes a new bbolt file (the format of src/backend/bbolt/format.ts) from buckets
 * given in name order, each with its entries in key order. It streams: leaves are written as
 * they fill, then the branch levels above them, so memory holds one page plus the first key of
 * every page of the level being built. The file is complete only after `finish()`.
 *
 *   const w = BoltWriter.create(path);          // refuses an existing file
 *   w.bucket(Buffer.from('key'), entries);      // [key, value] pairs, keys strictly ascending; the
 *                                               // buffers are kept until their page is written: do not reuse them
 *   w.finish();                                 // root bucket, freelist, both meta pages, fsync
 *
 * Layout: page 0 and 1 meta, page 2 the (empty) freelist, then every bucket's pages, then the
 * root bucket's page. Every page below the high-water mark is reachable (bbolt's tx.Check).
 * Buckets whose entries take less than a quarter page are written inline, as bbolt does.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import {
  BOLT_MAGIC, BOLT_VERSION, BUCKET_HEADER_BYTES, DEFAULT_PAGE_SIZE, ELEMENT_BYTES, FLAG_BRANCH, FLAG_FREELIST, FLAG_LEAF,
  FLAG_META, LEAF_FLAG_BUCKET, MAX_KEY_BYTES, MAX_VALUE_BYTES, META_CHECKSUM_OFFSET, PAGE_HEADER_BYTES, fnv1a64,
} from './format.js';

interface LeafElement {
  readonly flags: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

interface ChildRef {
  readonly key: Uint8Array;
  readonly pgid: number;
}

/** Bytes buffered before a write(2). */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
const FIRST_DATA_PGID = 3;
const FREELIST_PGID = 2;

export class BoltWriteError extends Error {
  override name = 'BoltWriteError';
}

export class BoltWriter {
  readonly pageSize: number;
  #fd: number;
  #next = FIRST_DATA_PGID;
  readonly #buf: Buffer;
  #bufStartPgid = FIRST_DATA_PGID;
  #bufBytes = 0;
  readonly #roots: LeafElement[] = [];
  #lastName: Uint8Array | undefined;
  #finished = false;
  /** Entries written, all buckets. */
  entries = 0;

  private constructor(fd: number, pageSize: number) {
    this.#fd = fd;
    this.pageSize = pageSize;
    this.#buf = Buffer.alloc(Math.max(WRITE_BUFFER_BYTES, pageSize));
  }

  /** Creates `path` (it must not exist). */
  static create(path: string, pageSize = DEFAULT_PAGE_SIZE): BoltWriter {
    if (!Number.isInteger(pageSize) || pageSize < 1024 || (pageSize & (pageSize - 1)) !== 0) {
      throw new BoltWriteError(`page size ${pageSize}: not a power of two >= 1024`);
    }
    return new BoltWriter(openSync(path, 'wx', 0o600), pageSize);
  }

  /** Writes one bucket. Names must ascend; keys must ascend strictly within a bucket. */
  bucket(name: Uint8Array, entries: Iterable<readonly [Uint8Array, Uint8Array]>): void {
    if (this.#finished) throw new BoltWriteError('writer finished');
    if (name.length === 0 || name.length > MAX_KEY_BYTES) throw new BoltWriteError(`bucket name length ${name.length}`);
    if (this.#lastName !== undefined && Buffer.compare(name, this.#lastName) <= 0) {
      throw new BoltWriteError(`bucket ${Buffer.from(name).toString()} out of order`);
    }
    this.#lastName = name;
    const inlineMax = this.pageSize / 4;
    let pending: LeafElement[] = [];
    let pendingBytes = PAGE_HEADER_BYTES;
    const leaves: ChildRef[] = [];
    let last: Uint8Array | undefined;
    for (const [key, value] of entries) {
      if (key.length === 0 || key.length > MAX_KEY_BYTES) throw new BoltWriteError(`key length ${key.length}`);
      if (value.length > MAX_VALUE_BYTES) throw new BoltWriteError(`value length ${value.length}`);
      if (last !== undefined && Buffer.compare(key, last) <= 0) {
        throw new BoltWriteError(`bucket ${Buffer.from(name).toString()}: keys not strictly ascending at ${Buffer.from(key).toString('hex')}`);
      }
      last = key;
      this.entries++;
      const size = ELEMENT_BYTES + key.length + value.length;
      if (pending.length > 0 && pendingBytes + size > this.pageSize) {
        leaves.push({ key: pending[0]!.key, pgid: this.#writeNode(FLAG_LEAF, pending, pendingBytes) });
        pending = [];
        pendingBytes = PAGE_HEADER_BYTES;
      }
      // Kept by reference until the page is written: callers pass fresh buffers.
      pending.push({ flags: 0, key, value });
      pendingBytes += size;
    }
    const header = Buffer.alloc(BUCKET_HEADER_BYTES);
    if (leaves.length === 0 && pendingBytes <= inlineMax) {
      // Inline: root 0, then the leaf page itself.
      const page = leafPage(pending, pendingBytes, 0, pendingBytes);
      this.#roots.push({ flags: LEAF_FLAG_BUCKET, key: Buffer.from(name), value: Buffer.concat([header, page]) });
      return;
    }
    if (pending.length > 0 || leaves.length === 0) {
      leaves.push({ key: pending[0]?.key ?? new Uint8Array(0), pgid: this.#writeNode(FLAG_LEAF, pending, pendingBytes) });
    }
    header.writeBigUInt64LE(BigInt(this.#buildBranches(leaves)), 0);
    this.#roots.push({ flags: LEAF_FLAG_BUCKET, key: Buffer.from(name), value: header });
  }

  /**
   * Writes the root bucket, the freelist and both meta pages, syncs (unless `sync` is false: a
   * staging file that is read back at once and removed) and closes. Returns the file size.
   */
  finish(opts: { sync?: boolean } = {}): number {
    if (this.#finished) throw new BoltWriteError('writer finished');
    let bytes = PAGE_HEADER_BYTES;
    for (const r of this.#roots) bytes += ELEMENT_BYTES + r.key.length + r.value.length;
    // The root bucket as one leaf (it holds ten buckets in etcd); it may overflow.
    const root = this.#writeNode(FLAG_LEAF, this.#roots, bytes);
    this.#flush();
    const hwm = this.#next;
    const free = Buffer.alloc(this.pageSize);
    writePageHeader(free, FREELIST_PGID, FLAG_FREELIST, 0, 0);
    this.#pwrite(free, FREELIST_PGID);
    for (const id of [0, 1]) this.#pwrite(metaPage(this.pageSize, id, root, hwm, id === 0 ? 2 : 1), id);
    ftruncateSync(this.#fd, hwm * this.pageSize);
    if (opts.sync !== false) fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#finished = true;
    return hwm * this.pageSize;
  }

  /** Closes without finishing (the file is incomplete; the caller removes it). */
  abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    closeSync(this.#fd);
  }

  #buildBranches(children: ChildRef[]): number {
    let level = children;
    while (level.length > 1) {
      const up: ChildRef[] = [];
      let pending: ChildRef[] = [];
      let bytes = PAGE_HEADER_BYTES;
      for (const c of level) {
        const size = ELEMENT_BYTES + c.key.length;
        if (pending.length > 0 && bytes + size > this.pageSize) {
          up.push({ key: pending[0]!.key, pgid: this.#writeBranch(pending, bytes) });
          pending = [];
          bytes = PAGE_HEADER_BYTES;
        }
        pending.push(c);
        bytes += size;
      }
      up.push({ key: pending[0]!.key, pgid: this.#writeBranch(pending, bytes) });
      level = up;
    }
    return level[0]!.pgid;
  }

  #writeBranch(children: readonly ChildRef[], bytes: number): number {
    const pages = Math.ceil(bytes / this.pageSize);
    const id = this.#next;
    const p = Buffer.alloc(pages * this.pageSize);
    writePageHeader(p, id, FLAG_BRANCH, children.length, pages - 1);
    let data = PAGE_HEADER_BYTES + ELEMENT_BYTES * children.length;
    children.forEach((c, i) => {
      const el = PAGE_HEADER_BYTES + ELEMENT_BYTES * i;
      p.writeUInt32LE(data - el, el);
      p.writeUInt32LE(c.key.length, el + 4);
      p.writeBigUInt64LE(BigInt(c.pgid), el + 8);
      p.set(c.key, data);
      data += c.key.length;
    });
    this.#append(p, pages);
    return id;
  }

  #writeNode(flags: number, elements: readonly LeafElement[], bytes: number): number {
    const pages = Math.ceil(bytes / this.pageSize);
    const id = this.#next;
    const p = leafPage(elements, bytes, id, pages * this.pageSize, pages - 1);
    if (flags !== FLAG_LEAF) throw new BoltWriteError('unexpected node type');
    this.#append(p, pages);
    return id;
  }

  #append(p: Buffer, pages: number): void {
    if (this.#bufBytes + p.length > this.#buf.length) this.#flush();
    if (p.length > this.#buf.length) {
      this.#pwrite(p, this.#next);
      this.#bufStartPgid = this.#next + pages;
    } else {
      p.copy(this.#buf, this.#bufBytes);
      this.#bufBytes += p.length;
    }
    this.#next += pages;
  }

  #flush(): void {
    if (this.#bufBytes > 0) this.#pwrite(this.#buf.subarray(0, this.#bufBytes), this.#bufStartPgid);
    this.#bufStartPgid = this.#next;
    this.#bufBytes = 0;
  }

  #pwrite(b: Uint8Array, pgid: number): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.#fd, b, off, b.length - off, pgid * this.pageSize + off);
  }
}

function writePageHeader(p: Buffer, id: number, flags: number, count: number, overflow: number): void {
  p.writeBigUInt64LE(BigInt(id), 0);
  p.writeUInt16LE(flags, 8);
  if (count > 0xffff) throw new BoltWriteError(`page ${id}: ${count} elements do not fit a page header`);
  p.writeUInt16LE(count, 10);
  p.writeUInt32LE(overflow, 12);
}

/** A leaf page of `size` bytes (whole pages, or exact for an inline bucket). */
function leafPage(elements: readonly LeafElement[], bytes: number, id: number, size: number, overflow = 0): Buffer {
  const p = Buffer.alloc(size);
  writePageHeader(p, id, FLAG_LEAF, elements.length, overflow);
  let data = PAGE_HEADER_BYTES + ELEMENT_BYTES * elements.length;
  elements.forEach((e, i) => {
    const el = PAGE_HEADER_BYTES + ELEMENT_BYTES * i;
    p.writeUInt32LE(e.flags, el);
    p.writeUInt32LE(data - el, el + 4);
    p.writeUInt32LE(e.key.length, el + 8);
    p.writeUInt32LE(e.value.length, el + 12);
    p.set(e.key, data);
    data += e.key.length;
    p.set(e.value, data);
    data += e.value.length;
  });
  if (data !== bytes) throw new BoltWriteError(`leaf page ${id}: ${data} bytes written, ${bytes} expected`);
  return p;
}

function metaPage(pageSize: number, id: number, root: number, hwm: number, txid: number): Buffer {
  const p = Buffer.alloc(pageSize);
  writePageHeader(p, id, FLAG_META, 0, 0);
  const m = p.subarray(PAGE_HEADER_BYTES);
  m.writeUInt32LE(BOLT_MAGIC, 0);
  m.writeUInt32LE(BOLT_VERSION, 4);
  m.writeUInt32LE(pageSize, 8);
  m.writeUInt32LE(0, 12);
  m.writeBigUInt64LE(BigInt(root), 16);
  m.writeBigUInt64LE(0n, 24);
  m.writeBigUInt64LE(BigInt(FREELIST_PGID), 32);
  m.writeBigUInt64LE(BigInt(hwm), 40);
  m.writeBigUInt64LE(BigInt(txid), 48);
  m.writeBigUInt64LE(fnv1a64(m.subarray(0, META_CHECKSUM_OFFSET)), META_CHECKSUM_OFFSET);
  return p;
}
