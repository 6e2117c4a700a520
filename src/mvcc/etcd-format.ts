/**
 * etcd's own encodings of the MVCC store (its bbolt `key` bucket), for HashKV, snapshots in
 * etcd's format and restores from them (docs/snapshot-format.md has the table).
 *
 * Key bucket key (17 bytes, 18 for a tombstone):
 *   | 0..8 main revision u64 BE | 8 '_' (0x5f) | 9..17 sub revision u64 BE | [17 't' (0x74): tombstone] |
 * Key bucket value: a marshalled mvccpb.KeyValue, proto3 rules (a zero or empty field is not
 * written), fields in number order:
 *   1 key (bytes), 2 create_revision, 3 mod_revision, 4 version (varint int64),
 *   5 value (bytes), 6 lease (varint int64: a negative lease is 10 bytes)
 * A put stores every field it has (mod_revision = main revision); a delete stores KeyValue{key}.
 * Byte equality with etcd matters: HashKV is a CRC over these bytes.
 */
import { readU64, writeU64 } from '../util/pure/u64be.js';
import type { LeaseId } from '../util/pure/id64.js';

export const ETCD_REV_KEY_BYTES = 17;
const MARK_SEP = 0x5f;
const MARK_TOMBSTONE = 0x74;

export function etcdRevKey(main: number, sub: number, tombstone: boolean): Buffer {
  const b = Buffer.allocUnsafe(ETCD_REV_KEY_BYTES + (tombstone ? 1 : 0));
  writeU64(b, 0, main);
  b[8] = MARK_SEP;
  writeU64(b, 9, sub);
  if (tombstone) b[17] = MARK_TOMBSTONE;
  return b;
}

export interface EtcdRevKey {
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
}

/** Throws on anything that is not a 17- or 18-byte revision key. */
export function parseEtcdRevKey(k: Uint8Array): EtcdRevKey {
  const tomb = k.length === ETCD_REV_KEY_BYTES + 1 && k[17] === MARK_TOMBSTONE;
  if (!(k.length === ETCD_REV_KEY_BYTES || tomb) || k[8] !== MARK_SEP) {
    throw new Error(`not an etcd revision key: ${Buffer.from(k).toString('hex')}`);
  }
  return { main: readU64(k, 0), sub: readU64(k, 9), tombstone: tomb };
}

export interface EtcdKeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: LeaseId;
}

function varintBytes(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

function numBytes(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarNum(b: Buffer, o: number, n: number): number {
  while (n >= 0x80) {
    b[o++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  b[o++] = n;
  return o;
}

function writeVarBig(b: Buffer, o: number, v: bigint): number {
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    b[o++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  b[o++] = Number(u);
  return o;
}

/** mvccpb.KeyValue as gogoproto marshals it (see the header). */
export function encodeEtcdKeyValue(kv: EtcdKeyValue): Buffer {
  let size = 0;
  if (kv.key.length > 0) size += 1 + numBytes(kv.key.length) + kv.key.length;
  if (kv.createRevision !== 0) size += 1 + numBytes(kv.createRevision);
  if (kv.modRevision !== 0) size += 1 + numBytes(kv.modRevision);
  if (kv.version !== 0) size += 1 + numBytes(kv.version);
  if (kv.value.length > 0) size += 1 + numBytes(kv.value.length) + kv.value.length;
  if (kv.lease !== 0n) size += 1 + varintBytes(kv.lease);
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  if (kv.key.length > 0) {
    b[o++] = 0x0a;
    o = writeVarNum(b, o, kv.key.length);
    b.set(kv.key, o);
    o += kv.key.length;
  }
  if (kv.createRevision !== 0) {
    b[o++] = 0x10;
    o = writeVarNum(b, o, kv.createRevision);
  }
  if (kv.modRevision !== 0) {
    b[o++] = 0x18;
    o = writeVarNum(b, o, kv.modRevision);
  }
  if (kv.version !== 0) {
    b[o++] = 0x20;
    o = writeVarNum(b, o, kv.version);
  }
  if (kv.value.length > 0) {
    b[o++] = 0x2a;
    o = writeVarNum(b, o, kv.value.length);
    b.set(kv.value, o);
    o += kv.value.length;
  }
  if (kv.lease !== 0n) {
    b[o++] = 0x30;
    o = writeVarBig(b, o, kv.lease);
  }
  if (o !== size) throw new Error('encodeEtcdKeyValue: size mismatch');
  return b;
}

/** The tombstone value etcd writes for a delete: KeyValue{key}. */
export function encodeEtcdTombstone(key: Uint8Array): Buffer {
  return encodeEtcdKeyValue({ key, createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n });
}

/** Decodes a marshalled mvccpb.KeyValue (any field order, unknown fields skipped). Throws on malformed bytes. */
export function decodeEtcdKeyValue(b: Uint8Array): EtcdKeyValue {
  let o = 0;
  const out: { -readonly [K in keyof EtcdKeyValue]: EtcdKeyValue[K] } = { key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n };
  /** A varint as a number (exact below 2^53; larger ones fail `safe`). */
  const num = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (o >= b.length) throw new Error('KeyValue: truncated varint');
      const c = b[o++]!;
      v += (c & 0x7f) * mul;
      if ((c & 0x80) === 0) return v;
      mul *= 128;
      if (i >= 9) throw new Error('KeyValue: varint too long');
    }
  };
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (o >= b.length) throw new Error('KeyValue: truncated varint');
      const c = b[o++]!;
      v |= BigInt(c & 0x7f) << shift;
      if ((c & 0x80) === 0) return v;
      shift += 7n;
      if (shift > 63n) throw new Error('KeyValue: varint too long');
    }
  };
  const bytes = (): Uint8Array => {
    const n = num();
    if (o + n > b.length) throw new Error('KeyValue: truncated bytes');
    const s = b.subarray(o, o + n);
    o += n;
    return s;
  };
  const safe = (v: number): number => {
    if (!Number.isSafeInteger(v)) throw new Error('KeyValue: revision out of range');
    return v;
  };
  while (o < b.length) {
    const tag = num();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) out.key = bytes();
    else if (field === 2 && wire === 0) out.createRevision = safe(num());
    else if (field === 3 && wire === 0) out.modRevision = safe(num());
    else if (field === 4 && wire === 0) out.version = safe(num());
    else if (field === 5 && wire === 2) out.value = bytes();
    else if (field === 6 && wire === 0) out.lease = BigInt.asIntN(64, varint());
    else if (wire === 0) num();
    else if (wire === 2) bytes();
    else if (wire === 1) o += 8;
    else if (wire === 5) o += 4;
    else throw new Error(`KeyValue: unsupported wire type ${wire}`);
    if (o > b.length) throw new Error('KeyValue: truncated');
  }
  return out;
}
