/**
 * A small HPACK (RFC 7541) decoder and a literal-only encoder, for the one job node:http2
 * cannot be asked to do: accept request header blocks whose :authority nghttp2 refuses
 * (h2-authority.ts says which and why). It runs once per connection on the first request,
 * and on every request only for the few connections that need their :authority rewritten.
 *
 * The decoder keeps the dynamic table exactly as the client's encoder does (insertions,
 * evictions by size, size updates), so later blocks that refer to it decode right. The
 * encoder writes every field as "literal without indexing" (static name index when there
 * is one, raw strings): it never touches the receiving decoder's dynamic table.
 */
import { HUFFMAN_BITS, HUFFMAN_CODES, STATIC_TABLE } from './hpack-tables.js';

export class HpackError extends Error {}

/** A decoded header field; name and value as latin1 strings (one char per byte). */
export type HeaderField = readonly [name: string, value: string];

// ---- Huffman decoding: a binary tree in flat arrays, built once ----

/** Node i has children LEFT[i] (bit 0) and RIGHT[i] (bit 1); SYM[i] >= 0 on leaves (256 = EOS). */
const LEFT: number[] = [0];
const RIGHT: number[] = [0];
const SYM: number[] = [-1];

function addCode(code: number, bits: number, sym: number): void {
  let node = 0;
  for (let i = bits - 1; i >= 0; i--) {
    const bit = Math.floor(code / 2 ** i) % 2; // codes reach 30 bits: avoid 32-bit shifts on sign
    const next = bit === 0 ? LEFT : RIGHT;
    if (next[node] === 0) {
      next[node] = SYM.length;
      LEFT.push(0);
      RIGHT.push(0);
      SYM.push(-1);
    }
    node = next[node]!;
  }
  SYM[node] = sym;
}
for (let s = 0; s < 256; s++) addCode(HUFFMAN_CODES[s]!, HUFFMAN_BITS[s]!, s);
addCode(0x3fffffff, 30, 256);

export function huffmanDecode(src: Buffer): Buffer {
  const out: number[] = [];
  let node = 0;
  let depth = 0; // bits since the last symbol
  let allOnes = true; // those bits are all 1s (valid padding so far)
  for (const byte of src) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >> i) & 1;
      node = bit === 0 ? LEFT[node]! : RIGHT[node]!;
      if (node === 0) throw new HpackError('hpack: invalid Huffman code');
      depth++;
      if (bit === 0) allOnes = false;
      const sym = SYM[node]!;
      if (sym >= 0) {
        if (sym === 256) throw new HpackError('hpack: EOS in a Huffman string');
        out.push(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      }
    }
  }
  // RFC 7541 5.2: padding is the most significant bits of EOS (all 1s), shorter than 8 bits.
  if (depth > 7 || !allOnes) throw new HpackError('hpack: invalid Huffman padding');
  return Buffer.from(out);
}

// ---- integers and strings (RFC 7541 5.1, 5.2) ----

interface Cursor {
  buf: Buffer;
  pos: number;
}

function readInt(c: Cursor, prefixBits: number): number {
  if (c.pos >= c.buf.length) throw new HpackError('hpack: truncated integer');
  const max = (1 << prefixBits) - 1;
  let v = c.buf[c.pos++]! & max;
  if (v < max) return v;
  let m = 0;
  for (;;) {
    if (c.pos >= c.buf.length) throw new HpackError('hpack: truncated integer');
    const b = c.buf[c.pos++]!;
    v += (b & 0x7f) * 2 ** m;
    m += 7;
    if ((b & 0x80) === 0) return v;
    if (m > 28) throw new HpackError('hpack: integer too large');
  }
}

function readString(c: Cursor): string {
  if (c.pos >= c.buf.length) throw new HpackError('hpack: truncated string');
  const huffman = (c.buf[c.pos]! & 0x80) !== 0;
  const len = readInt(c, 7);
  if (c.pos + len > c.buf.length) throw new HpackError('hpack: truncated string');
  const raw = c.buf.subarray(c.pos, c.pos + len);
  c.pos += len;
  return (huffman ? huffmanDecode(raw) : raw).toString('latin1');
}

function writeInt(out: number[], prefixBits: number, firstByte: number, v: number): void {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out.push(firstByte | v);
    return;
  }
  out.push(firstByte | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

// ---- the decoder ----

/** Entry overhead counted by RFC 7541 4.1. */
const ENTRY_OVERHEAD = 32;

export class HpackDecoder {
  /** Newest first, as indexes 62, 63, ... address them. */
  private readonly dynamic: HeaderField[] = [];
  private size = 0;
  private maxSize: number;

  /** @param limit SETTINGS_HEADER_TABLE_SIZE the receiving side advertised (HTTP/2 default 4096). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** Decode one complete header block (HEADERS + CONTINUATION fragments joined). */
  decode(block: Buffer): HeaderField[] {
    const c: Cursor = { buf: block, pos: 0 };
    const fields: HeaderField[] = [];
    while (c.pos < block.length) {
      const b = block[c.pos]!;
      if (b & 0x80) {
        // 6.1 indexed field
        fields.push(this.at(readInt(c, 7)));
      } else if (b & 0x40) {
        // 6.2.1 literal with incremental indexing
        const f = this.literal(c, 6);
        fields.push(f);
        this.insert(f);
      } else if (b & 0x20) {
        // 6.3 dynamic table size update
        const n = readInt(c, 5);
        if (n > this.limit) throw new HpackError(`hpack: table size update ${n} above the limit ${this.limit}`);
        this.maxSize = n;
        this.evict(0);
      } else {
        // 6.2.2 without indexing, 6.2.3 never indexed
        fields.push(this.literal(c, 4));
      }
    }
    return fields;
  }

  private literal(c: Cursor, prefixBits: number): HeaderField {
    const idx = readInt(c, prefixBits);
    const name = idx === 0 ? readString(c) : this.at(idx)[0];
    return [name, readString(c)];
  }

  private at(idx: number): HeaderField {
    if (idx === 0) throw new HpackError('hpack: index 0');
    if (idx < STATIC_TABLE.length) return STATIC_TABLE[idx]!;
    const f = this.dynamic[idx - STATIC_TABLE.length];
    if (f === undefined) throw new HpackError(`hpack: index ${idx} out of range`);
    return f;
  }

  private insert(f: HeaderField): void {
    const n = f[0].length + f[1].length + ENTRY_OVERHEAD;
    this.evict(n);
    if (n <= this.maxSize) {
      this.dynamic.unshift(f);
      this.size += n;
    }
  }

  /** Evict until `room` more bytes fit (an entry larger than the table empties it). */
  private evict(room: number): void {
    while (this.dynamic.length > 0 && this.size + room > this.maxSize) {
      const f = this.dynamic.pop()!;
      this.size -= f[0].length + f[1].length + ENTRY_OVERHEAD;
    }
  }
}

// ---- the encoder: literals without indexing only ----

const STATIC_NAME_INDEX = new Map<string, number>();
for (let i = STATIC_TABLE.length - 1; i >= 1; i--) STATIC_NAME_INDEX.set(STATIC_TABLE[i]![0], i);

/** Encode fields as literals without indexing (RFC 7541 6.2.2): no dynamic table state anywhere. */
export function encodeLiterals(fields: readonly HeaderField[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const idx = STATIC_NAME_INDEX.get(name);
    if (idx !== undefined) {
      writeInt(out, 4, 0x00, idx);
    } else {
      out.push(0x00);
      writeInt(out, 7, 0x00, name.length);
      for (let i = 0; i < name.length; i++) out.push(name.charCodeAt(i));
    }
    writeInt(out, 7, 0x00, value.length);
    for (let i = 0; i < value.length; i++) out.push(value.charCodeAt(i));
  }
  return Buffer.from(out);
}
