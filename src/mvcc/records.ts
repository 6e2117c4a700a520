/**
 * Value layouts of the `kidx`, `latest` and `rev` dbis (docs/storage-lmdb.md).
 * Pair assertions: lengths are checked when encoding and again when decoding.
 */
import { REV_BYTES, assert, readU64, writeRevision, writeU64 } from './revision.js';
import { readI64Big, writeU64Big } from '../util/pure/u64be.js';
import type { LeaseId } from '../util/pure/id64.js';

export const FLAG_TOMBSTONE = 0x01;

/**
 * IndexRecord: flags u8 | create u64 | version u64 | lease u64 (all big-endian). The lease is
 * the int64 lease ID's 64-bit two's complement (any int64; 0 = no lease).
 */
export const INDEX_RECORD_BYTES = 25;
/** LatestRecord: Revision | IndexRecord. */
export const LATEST_RECORD_BYTES = REV_BYTES + INDEX_RECORD_BYTES;
/** KvRecord fixed header: flags | create | version | lease | key length u32. */
export const KV_RECORD_HEADER_BYTES = 29;

/** What the key index knows about one revision of one key. */
export interface IndexEntry {
  readonly tombstone: boolean;
  readonly createRevision: number;
  readonly version: number;
  /** The key's lease (0n: none): a full int64 (docs/decisions/0003-64-bit-ids.md). */
  readonly lease: LeaseId;
}

/** The head of a key's history, or any located revision of it. */
export interface LocatedEntry extends IndexEntry {
  readonly modRevision: number;
  readonly sub: number;
}

function writeIndexRecord(buf: Uint8Array, off: number, e: IndexEntry): void {
  assert(e.tombstone ? e.createRevision === 0 && e.version === 0 : e.version >= 1 && e.createRevision >= 1,
    'index record: tombstone has no generation, a live entry has one');
  buf[off] = e.tombstone ? FLAG_TOMBSTONE : 0;
  writeU64(buf, off + 1, e.createRevision);
  writeU64(buf, off + 9, e.version);
  writeU64Big(buf, off + 17, e.lease);
}

function readFlags(flags: number): boolean {
  assert((flags & ~FLAG_TOMBSTONE) === 0, `unknown record flags ${flags}`);
  return (flags & FLAG_TOMBSTONE) !== 0;
}

export function encodeIndexRecord(e: IndexEntry): Buffer {
  const b = Buffer.allocUnsafe(INDEX_RECORD_BYTES);
  writeIndexRecord(b, 0, e);
  return b;
}

export function decodeIndexRecord(buf: Uint8Array): IndexEntry {
  assert(buf.length === INDEX_RECORD_BYTES, `index record length ${buf.length}`);
  return {
    tombstone: readFlags(buf[0]!),
    createRevision: readU64(buf, 1),
    version: readU64(buf, 9),
    lease: readI64Big(buf, 17),
  };
}

export function encodeLatestRecord(e: LocatedEntry): Buffer {
  const b = Buffer.allocUnsafe(LATEST_RECORD_BYTES);
  writeRevision(b, 0, e.modRevision, e.sub);
  writeIndexRecord(b, REV_BYTES, e);
  return b;
}

export function decodeLatestRecord(buf: Uint8Array): LocatedEntry {
  assert(buf.length === LATEST_RECORD_BYTES, `latest record length ${buf.length}`);
  return {
    modRevision: readU64(buf, 0),
    sub: readU64(buf, 8),
    tombstone: readFlags(buf[REV_BYTES]!),
    createRevision: readU64(buf, REV_BYTES + 1),
    version: readU64(buf, REV_BYTES + 9),
    lease: readI64Big(buf, REV_BYTES + 17),
  };
}

export interface KvRecord extends IndexEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export function encodeKvRecord(r: KvRecord): Buffer {
  const b = Buffer.allocUnsafe(KV_RECORD_HEADER_BYTES + r.key.length + r.value.length);
  writeIndexRecord(b, 0, r);
  b.writeUInt32BE(r.key.length, 25);
  b.set(r.key, KV_RECORD_HEADER_BYTES);
  b.set(r.value, KV_RECORD_HEADER_BYTES + r.key.length);
  return b;
}

export function decodeKvRecord(buf: Buffer): KvRecord {
  assert(buf.length >= KV_RECORD_HEADER_BYTES, 'kv record: short');
  const keyLength = buf.readUInt32BE(25);
  assert(KV_RECORD_HEADER_BYTES + keyLength <= buf.length, 'kv record: key length beyond record');
  return {
    tombstone: readFlags(buf[0]!),
    createRevision: readU64(buf, 1),
    version: readU64(buf, 9),
    lease: readI64Big(buf, 17),
    key: buf.subarray(KV_RECORD_HEADER_BYTES, KV_RECORD_HEADER_BYTES + keyLength),
    value: buf.subarray(KV_RECORD_HEADER_BYTES + keyLength),
  };
}

/** Only the value of a KvRecord (the hot path of a Range). */
export function kvRecordValue(buf: Buffer): Buffer {
  assert(buf.length >= KV_RECORD_HEADER_BYTES, 'kv record: short');
  return buf.subarray(KV_RECORD_HEADER_BYTES + buf.readUInt32BE(25));
}
