/**
 * WAL writer ring frames (docs/threads.md "WAL writer frames"). Entry and hard state
 * encodings are those of docs/storage-wal.md.
 */
import type { Entry, HardState } from '../raftpb/types.js';
import { assert } from '../util/pure/assert.js';
import { entryEncodingBytes, HARD_STATE_BYTES, readEntry, readHardState, writeEntry, writeHardState } from '../wal/codec.js';
import { readU64, writeU64 } from '../wal/u64.js';
import type { WalSnapshot } from '../wal/types.js';
import { FrameError } from './frame.js';

export enum WalFrameKind {
  /** main -> worker */
  Append = 1,
  /** main -> worker */
  Close = 2,
  /** worker -> main */
  Ack = 3,
  /** worker -> main */
  Closed = 4,
  /** main -> worker */
  Release = 5,
}

const APPEND_HEADER_BYTES = 16;
const FLAG_HARD_STATE = 1;
const FLAG_FINAL = 2;
/** The part starts with a snapshot marker (u64 index, u64 term) before the hard state; only a first part. */
const FLAG_SNAPSHOT = 4;
const SNAPSHOT_BYTES = 16;
export const ACK_BYTES = 32;
export const CONTROL_BYTES = 8;

export interface AppendPart {
  readonly seq: number;
  readonly final: boolean;
  readonly hardState: HardState | null;
  readonly entries: Entry[];
  readonly snapshot: WalSnapshot | null;
}

export interface Ack {
  /** Requests completed by this sync. */
  readonly count: number;
  /** Highest durable request seq. */
  readonly seq: number;
  /** Last index of the durable log (0: none). */
  readonly durableIndex: number;
  /** 1, 2, ... one per fdatasync. */
  readonly batchSeq: number;
}

function appendPart(
  seq: number, final: boolean, hs: HardState | null, entries: readonly Entry[], from: number, to: number, bytes: number, snap: WalSnapshot | null,
): Uint8Array {
  if (snap) bytes += SNAPSHOT_BYTES;
  const buf = new Uint8Array(bytes);
  const dv = new DataView(buf.buffer);
  dv.setUint8(0, WalFrameKind.Append);
  dv.setUint8(1, (hs ? FLAG_HARD_STATE : 0) | (final ? FLAG_FINAL : 0) | (snap ? FLAG_SNAPSHOT : 0));
  dv.setUint32(4, to - from, true);
  writeU64(dv, 8, seq);
  let at = APPEND_HEADER_BYTES;
  if (snap) {
    writeU64(dv, at, snap.index);
    writeU64(dv, at + 8, snap.term);
    at += SNAPSHOT_BYTES;
  }
  if (hs) at = writeHardState(dv, at, hs);
  for (let i = from; i < to; i++) at = writeEntry(buf, dv, at, entries[i]!);
  assert(at === bytes, 'wal-writer-frames: append size');
  return buf;
}

/**
 * Encodes one append() request as one or more APPEND frames of at most
 * `maxFrameBytes`; the hard state rides in the final part.
 */
export function encodeAppend(seq: number, hs: HardState | null, entries: readonly Entry[], maxFrameBytes: number, snapshot: WalSnapshot | null = null): Uint8Array[] {
  const parts: Uint8Array[] = [];
  // The snapshot marker rides in the first part (it comes before every entry); its 16 bytes are
  // left out of the size rule (a frame is never that close to the ring's limit).
  const snapOf = (): WalSnapshot | null => (parts.length === 0 ? snapshot : null);
  const hsBytes = hs ? HARD_STATE_BYTES : 0;
  let from = 0;
  let bytes = APPEND_HEADER_BYTES;
  for (let i = 0; i < entries.length; i++) {
    const n = entryEncodingBytes(entries[i]!);
    if (APPEND_HEADER_BYTES + hsBytes + n > maxFrameBytes) {
      throw new RangeError(`wal writer: entry ${entries[i]!.index} of ${n} encoded bytes exceeds the ring's maximum frame ${maxFrameBytes}`);
    }
    if (bytes + n > maxFrameBytes) {
      parts.push(appendPart(seq, false, null, entries, from, i, bytes, snapOf()));
      from = i;
      bytes = APPEND_HEADER_BYTES;
    }
    bytes += n;
  }
  if (bytes + hsBytes > maxFrameBytes) {
    parts.push(appendPart(seq, false, null, entries, from, entries.length, bytes, snapOf()));
    from = entries.length;
    bytes = APPEND_HEADER_BYTES;
  }
  parts.push(appendPart(seq, true, hs, entries, from, entries.length, bytes + hsBytes, snapOf()));
  return parts;
}

export function frameKind(buf: Uint8Array, offset: number, length: number): WalFrameKind {
  if (length < 1) throw new FrameError('wal writer frame: empty');
  return buf[offset]! as WalFrameKind;
}

/** Decodes an APPEND frame in place; entry data are copies. */
export function decodeAppend(buf: Uint8Array, offset: number, length: number): AppendPart {
  if (length < APPEND_HEADER_BYTES) throw new FrameError('wal writer append: truncated header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const flags = dv.getUint8(offset + 1);
  const count = dv.getUint32(offset + 4, true);
  const seq = readU64(dv, offset + 8);
  if (seq < 1) throw new FrameError('wal writer append: bad seq');
  const end = offset + length;
  let at = offset + APPEND_HEADER_BYTES;
  let snapshot: WalSnapshot | null = null;
  if (flags & FLAG_SNAPSHOT) {
    if (end - at < SNAPSHOT_BYTES) throw new FrameError('wal writer append: truncated snapshot marker');
    const index = readU64(dv, at);
    const term = readU64(dv, at + 8);
    if (index < 1 || term < 1) throw new FrameError('wal writer append: bad snapshot marker');
    snapshot = { index, term };
    at += SNAPSHOT_BYTES;
  }
  let hardState: HardState | null = null;
  if (flags & FLAG_HARD_STATE) {
    if (end - at < HARD_STATE_BYTES) throw new FrameError('wal writer append: truncated hard state');
    hardState = readHardState(dv, at);
    at += HARD_STATE_BYTES;
  }
  const entries: Entry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const r = readEntry(buf, dv, at, end - at);
    entries[i] = r.entry;
    at = r.next;
  }
  if (at !== end) throw new FrameError(`wal writer append: ${end - at} trailing bytes`);
  return { seq, final: (flags & FLAG_FINAL) !== 0, hardState, entries, snapshot };
}

export function encodeAck(a: Ack): Uint8Array {
  const buf = new Uint8Array(ACK_BYTES);
  const dv = new DataView(buf.buffer);
  dv.setUint8(0, WalFrameKind.Ack);
  dv.setUint32(4, a.count, true);
  writeU64(dv, 8, a.seq);
  writeU64(dv, 16, a.durableIndex);
  writeU64(dv, 24, a.batchSeq);
  return buf;
}

export function decodeAck(buf: Uint8Array, offset: number, length: number): Ack {
  if (length !== ACK_BYTES) throw new FrameError(`wal writer ack: ${length} bytes, want ${ACK_BYTES}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const seq = readU64(dv, offset + 8);
  const durableIndex = readU64(dv, offset + 16);
  const batchSeq = readU64(dv, offset + 24);
  if (seq < 0 || durableIndex < 0 || batchSeq < 1) throw new FrameError('wal writer ack: bad field');
  return { count: dv.getUint32(offset + 4, true), seq, durableIndex, batchSeq };
}

export function encodeControl(kind: WalFrameKind.Close | WalFrameKind.Closed): Uint8Array {
  const buf = new Uint8Array(CONTROL_BYTES);
  buf[0] = kind;
  return buf;
}

export const RELEASE_BYTES = 16;

export function encodeRelease(index: number): Uint8Array {
  const buf = new Uint8Array(RELEASE_BYTES);
  buf[0] = WalFrameKind.Release;
  writeU64(new DataView(buf.buffer), 8, index);
  return buf;
}

export function decodeRelease(buf: Uint8Array, offset: number, length: number): number {
  if (length !== RELEASE_BYTES) throw new FrameError(`wal writer release: ${length} bytes, want ${RELEASE_BYTES}`);
  const index = readU64(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), offset + 8);
  if (index < 0) throw new FrameError('wal writer release: bad index');
  return index;
}
