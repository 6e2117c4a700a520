/**
 * Segment files: naming `<seq:016x>-<firstIndex:016x>.wal`, listing, creation with
 * preallocation (docs/storage-wal.md "Directory and segment files").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../util/pure/assert.js';
import { WalCorruptError } from './errors.js';

export const SEGMENT_SUFFIX = '.wal';
const TMP_SUFFIX = '.tmp';
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
/** Zeros written per call when preallocating. */
const PREALLOCATE_CHUNK_BYTES = 1 << 20;

export interface SegmentName {
  readonly seq: number;
  readonly firstIndex: number;
  readonly name: string;
}

function hex16(n: number): string {
  assert(Number.isSafeInteger(n) && n >= 0, `segment: ${n} is not a safe integer`);
  return n.toString(16).padStart(16, '0');
}

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}${SEGMENT_SUFFIX}`;
}

export function parseSegmentName(name: string): SegmentName | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const seq = parseInt(m[1]!, 16);
  const firstIndex = parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return null;
  return { seq, firstIndex, name };
}

/**
 * Lists the segments of `dir` in seq order, deleting leftover *.tmp files. Throws
 * WalCorruptError for an unparsable *.wal name or a gap in seq.
 */
export function listSegments(dir: string): SegmentName[] {
  const out: SegmentName[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith(SEGMENT_SUFFIX + TMP_SUFFIX)) {
      fs.unlinkSync(path.join(dir, name));
      continue;
    }
    if (!name.endsWith(SEGMENT_SUFFIX)) continue;
    const s = parseSegmentName(name);
    if (!s) throw new WalCorruptError(path.join(dir, name), 0, 'segment file name is not <seq:016x>-<index:016x>.wal');
    out.push(s);
  }
  out.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.seq !== out[i - 1]!.seq + 1) {
      throw new WalCorruptError(path.join(dir, out[i]!.name), 0, `segment seq gap after ${out[i - 1]!.name}`);
    }
  }
  return out;
}

let zeros: Uint8Array | null = null;

/** Writes zeros over [from, to) of fd. */
export function writeZeros(fd: number, from: number, to: number): void {
  zeros ??= new Uint8Array(PREALLOCATE_CHUNK_BYTES);
  let pos = from;
  while (pos < to) {
    const n = fs.writeSync(fd, zeros, 0, Math.min(zeros.length, to - pos), pos);
    assert(n > 0, 'segment: zero-length write');
    pos += n;
  }
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    const n = fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
    assert(n > 0, 'segment: zero-length write');
    done += n;
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates segment `name` in `dir`: a `.tmp` file preallocated with zeros to
 * `segmentBytes`, `head` written at offset 0, fdatasync, rename into place, fsync the
 * directory. Returns an fd open for reading and writing.
 */
export function createSegment(dir: string, name: string, segmentBytes: number, head: Uint8Array): number {
  const final = path.join(dir, name);
  const tmp = final + TMP_SUFFIX;
  const fd = fs.openSync(tmp, 'w+');
  try {
    writeZeros(fd, 0, segmentBytes);
    writeFully(fd, head, 0);
    fs.fdatasyncSync(fd);
    fs.renameSync(tmp, final);
    fsyncDir(dir);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/** Name of the spare segment being preallocated ahead of the next roll (deleted at open like any *.tmp). */
export const SPARE_NAME = 'spare.wal.tmp';

/**
 * A segment file preallocated ahead of time, a slice at a time, so a roll does not
 * stall the writer for the whole preallocation (etcd's filePipeline does this in a
 * goroutine; here the WAL writer calls prepare() between batches).
 */
export class SpareSegment {
  private fd: number;
  private preparedBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {
    this.fd = fs.openSync(path.join(dir, SPARE_NAME), 'w+');
  }

  get ready(): boolean {
    return this.preparedBytes >= this.segmentBytes;
  }

  /** Zeros written so far. */
  get prepared(): number {
    return this.preparedBytes;
  }

  /**
   * Writes up to `sliceBytes` more zeros (into the page cache: no fdatasync here; the
   * kernel writes them back in the background and install() syncs what is left).
   * Returns true when fully prepared.
   */
  prepare(sliceBytes: number): boolean {
    if (this.ready) return true;
    const to = Math.min(this.segmentBytes, this.preparedBytes + sliceBytes);
    writeZeros(this.fd, this.preparedBytes, to);
    this.preparedBytes = to;
    return this.ready;
  }

  /** Finishes preparation, writes `head`, syncs and renames into place as `name`. Returns the fd; the spare is used up. */
  install(name: string, head: Uint8Array): number {
    writeZeros(this.fd, this.preparedBytes, this.segmentBytes);
    writeFully(this.fd, head, 0);
    fs.fdatasyncSync(this.fd);
    fs.renameSync(path.join(this.dir, SPARE_NAME), path.join(this.dir, name));
    fsyncDir(this.dir);
    const fd = this.fd;
    this.fd = -1;
    return fd;
  }

  discard(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.rmSync(path.join(this.dir, SPARE_NAME), { force: true });
  }
}
