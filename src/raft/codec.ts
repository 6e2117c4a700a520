/**
 * Compact binary encoding of raft types, for the WAL and the peer transport.
 *
 * Integers are unsigned LEB128 varints: terms, indexes and lengths below 2^53 (computed
 * with arithmetic, not 32-bit bitwise ops); node IDs (to, from, vote, ConfState ids,
 * nodeId) are full uint64 (bigint, at most 10 bytes). A value below 2^53 has the same
 * bytes either way. Byte strings are a varint length followed by the bytes.
 *
 *   Entry        := term index type(u8) bytes(data)
 *   HardState    := term vote commit
 *   ConfState    := ids(voters) ids(learners) ids(votersOutgoing) ids(learnersNext) autoLeave(u8)
 *   ids          := count id*
 *   SnapMetadata := ConfState index term
 *   Snapshot     := SnapMetadata bytes(data)
 *   Message      := VERSION(u8=1) type(u8) to from term logTerm index commit flags(u8)
 *                   rejectHint count(entries) Entry* [Snapshot if flags&2] [bytes(context) if flags&4]
 *                   flags: 1 = reject, 2 = snapshot present, 4 = context present
 *   ConfChangeV2 := transition(u8) count (type(u8) nodeId)* bytes(context); empty buffer = leave joint
 */
import {
  MESSAGE_TYPE_MAX,
  ConfChangeTransition,
  RaftError,
  type ConfChangeV2,
  type ConfState,
  type Message,
  type Snapshot,
  type SnapshotMetadata,
} from './messages.js';
import { EntryType, type Entry, type HardState, type NodeId } from '../raftpb/types.js';

const MESSAGE_VERSION = 1;
const U64_MAX = (1n << 64n) - 1n;
const SAFE_MAX_BIG = BigInt(Number.MAX_SAFE_INTEGER);
/** bigint <-> two u32 without bigint arithmetic. */
const scratch = new DataView(new ArrayBuffer(8));
/** Decoded small node IDs without an allocation each (tests and the simulator use 1, 2, 3...). */
const SMALL_IDS: readonly bigint[] = Array.from({ length: 256 }, (_, i) => BigInt(i));

function bad(msg: string): RaftError {
  return new RaftError('ETCD_ERR_RAFT_CODEC', `raft codec: ${msg}`);
}

export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  uvarint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw bad(`not a uint53: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** A node ID: a full uint64. Below 2^53 (tests, the simulator) it takes the number path. */
  uvarint64(v: bigint): void {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw bad(`not a uint64: ${String(v)}`);
    if (v <= SAFE_MAX_BIG) return this.uvarint(Number(v));
    scratch.setBigUint64(0, v, true);
    let lo = scratch.getUint32(0, true);
    let hi = scratch.getUint32(4, true);
    this.ensure(10);
    // 64 bits as 7-bit groups, computed on the two 32-bit halves.
    while (hi > 0 || lo >= 0x80) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  u8(): number {
    if (this.pos >= this.buf.length) throw bad('truncated');
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) throw bad('varint overflow');
        return v;
      }
      mul *= 0x80;
    }
    throw bad('varint too long');
  }

  /** A node ID: a full uint64 (at most 10 bytes). */
  uvarint64(): bigint {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      const bits = b & 0x7f;
      const shift = 7 * i;
      if (shift < 28) lo = (lo | (bits << shift)) >>> 0;
      else if (shift === 28) {
        lo = (lo | (bits << 28)) >>> 0;
        hi = bits >>> 4;
      } else {
        if (shift === 63 && bits > 1) throw bad('uint64 varint overflow');
        hi = (hi | (bits << (shift - 32))) >>> 0;
      }
      if (b < 0x80) {
        if (hi === 0) return lo < SMALL_IDS.length ? SMALL_IDS[lo]! : BigInt(lo);
        scratch.setUint32(0, lo, true);
        scratch.setUint32(4, hi, true);
        return scratch.getBigUint64(0, true);
      }
    }
    throw bad('uint64 varint too long');
  }

  bytes(): Uint8Array {
    const n = this.uvarint();
    if (this.pos + n > this.buf.length) throw bad('truncated bytes');
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  done(): boolean {
    return this.pos === this.buf.length;
  }

  expectDone(): void {
    if (!this.done()) throw bad(`${this.buf.length - this.pos} trailing bytes`);
  }
}

export function writeEntry(w: Writer, e: Entry): void {
  w.uvarint(e.term);
  w.uvarint(e.index);
  w.u8(e.type);
  w.bytes(e.data);
}

export function readEntry(r: Reader): Entry {
  const term = r.uvarint();
  const index = r.uvarint();
  const type = r.u8();
  if (type > EntryType.ConfChangeV2) throw bad(`bad entry type ${type}`);
  return { term, index, type: type as EntryType, data: r.bytes() };
}

function writeIds(w: Writer, ids: readonly NodeId[]): void {
  w.uvarint(ids.length);
  for (const id of ids) w.uvarint64(id);
}

function readIds(r: Reader): NodeId[] {
  const n = r.uvarint();
  const out: NodeId[] = [];
  for (let i = 0; i < n; i++) out.push(r.uvarint64());
  return out;
}

export function writeConfState(w: Writer, cs: ConfState): void {
  writeIds(w, cs.voters);
  writeIds(w, cs.learners);
  writeIds(w, cs.votersOutgoing);
  writeIds(w, cs.learnersNext);
  w.u8(cs.autoLeave ? 1 : 0);
}

export function readConfState(r: Reader): ConfState {
  return { voters: readIds(r), learners: readIds(r), votersOutgoing: readIds(r), learnersNext: readIds(r), autoLeave: r.u8() === 1 };
}

export function writeSnapshotMetadata(w: Writer, m: SnapshotMetadata): void {
  writeConfState(w, m.confState);
  w.uvarint(m.index);
  w.uvarint(m.term);
}

export function readSnapshotMetadata(r: Reader): SnapshotMetadata {
  const confState = readConfState(r);
  return { confState, index: r.uvarint(), term: r.uvarint() };
}

export function writeSnapshot(w: Writer, s: Snapshot): void {
  writeSnapshotMetadata(w, s.metadata);
  w.bytes(s.data);
}

export function readSnapshot(r: Reader): Snapshot {
  const metadata = readSnapshotMetadata(r);
  return { metadata, data: r.bytes() };
}

export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer(e.data.length + 16);
  writeEntry(w, e);
  return w.finish();
}

export function decodeEntry(b: Uint8Array): Entry {
  const r = new Reader(b);
  const e = readEntry(r);
  r.expectDone();
  return e;
}

export function encodeHardState(hs: HardState): Uint8Array {
  const w = new Writer(24);
  w.uvarint(hs.term);
  w.uvarint64(hs.vote);
  w.uvarint(hs.commit);
  return w.finish();
}

export function decodeHardState(b: Uint8Array): HardState {
  const r = new Reader(b);
  const hs = { term: r.uvarint(), vote: r.uvarint64(), commit: r.uvarint() };
  r.expectDone();
  return hs;
}

export function encodeSnapshotMetadata(m: SnapshotMetadata): Uint8Array {
  const w = new Writer();
  writeSnapshotMetadata(w, m);
  return w.finish();
}

export function decodeSnapshotMetadata(b: Uint8Array): SnapshotMetadata {
  const r = new Reader(b);
  const m = readSnapshotMetadata(r);
  r.expectDone();
  return m;
}

export function encodeMessage(m: Message): Uint8Array {
  let size = 48;
  for (const e of m.entries) size += e.data.length + 16;
  const w = new Writer(size);
  w.u8(MESSAGE_VERSION);
  w.u8(m.type);
  w.uvarint64(m.to);
  w.uvarint64(m.from);
  w.uvarint(m.term);
  w.uvarint(m.logTerm);
  w.uvarint(m.index);
  w.uvarint(m.commit);
  w.u8((m.reject ? 1 : 0) | (m.snapshot ? 2 : 0) | (m.context ? 4 : 0));
  w.uvarint(m.rejectHint);
  w.uvarint(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot) writeSnapshot(w, m.snapshot);
  if (m.context) w.bytes(m.context);
  return w.finish();
}

export function decodeMessage(b: Uint8Array): Message {
  const r = new Reader(b);
  const v = r.u8();
  if (v !== MESSAGE_VERSION) throw bad(`unknown message version ${v}`);
  const type = r.u8();
  if (type > MESSAGE_TYPE_MAX) throw bad(`bad message type ${type}`);
  const to = r.uvarint64();
  const from = r.uvarint64();
  const term = r.uvarint();
  const logTerm = r.uvarint();
  const index = r.uvarint();
  const commit = r.uvarint();
  const flags = r.u8();
  if (flags > 7) throw bad(`bad flags ${flags}`);
  const rejectHint = r.uvarint();
  const n = r.uvarint();
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) entries.push(readEntry(r));
  const snapshot = flags & 2 ? readSnapshot(r) : null;
  const context = flags & 4 ? r.bytes() : null;
  r.expectDone();
  return { type, to, from, term, logTerm, index, entries, commit, snapshot, reject: (flags & 1) !== 0, rejectHint, context };
}

export function encodeConfChangeV2(cc: ConfChangeV2): Uint8Array {
  const w = new Writer();
  w.u8(cc.transition);
  w.uvarint(cc.changes.length);
  for (const c of cc.changes) {
    w.u8(c.type);
    w.uvarint64(c.nodeId);
  }
  w.bytes(cc.context);
  return w.finish();
}

export function decodeConfChangeV2(b: Uint8Array): ConfChangeV2 {
  if (b.length === 0) return { transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) };
  const r = new Reader(b);
  const transition = r.u8();
  if (transition > ConfChangeTransition.JointExplicit) throw bad(`bad transition ${transition}`);
  const n = r.uvarint();
  const changes = [];
  for (let i = 0; i < n; i++) {
    const type = r.u8();
    if (type > 3) throw bad(`bad conf change type ${type}`);
    changes.push({ type, nodeId: r.uvarint64() });
  }
  const context = r.bytes();
  r.expectDone();
  return { transition, changes, context };
}
