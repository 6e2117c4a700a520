/**
 * A minimal protobuf wire codec with exact 64-bit integers (bigint), for the responses our
 * etcdctl prints. The generated code decodes only the ID fields as bigint and every other
 * int64 as a number (docs/decisions/0003-64-bit-ids.md); etcdctl prints whatever any server
 * sends, exactly, so it decodes every 64-bit field as bigint here. Requests are encoded with
 * src/proto/pb.ts; responses are decoded here, from a small schema that also carries the Go
 * JSON field names the json printer needs.
 */

/** How one field is stored and printed. */
export type FieldKind = 'uint64' | 'int64' | 'bool' | 'bytes' | 'string' | MessageSchema;

export interface FieldSpec {
  /** Field number on the wire. */
  readonly no: number;
  /** Property name in the decoded object. */
  readonly name: string;
  /** Key in etcdctl's JSON output (the Go struct's json tag). */
  readonly json: string;
  readonly kind: FieldKind;
  readonly repeated?: boolean;
}

export interface MessageSchema {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /**
   * A proto3 oneof printed as Go prints it: `{"<oneof>":{"<FieldJsonName>":{...}}}`
   * (etcd's ResponseOp: `{"Response":{"ResponseRange":{...}}}`).
   */
  readonly oneof?: string;
}

/** A decoded message: every field present, defaults filled in (bigint 0n, false, empty). */
export type Message = Record<string, unknown>;

class WireReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result & 0xffffffffffffffffn;
      shift += 7n;
      if (shift > 63n) throw new Error('protobuf: varint too long');
    }
  }

  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new Error('protobuf: truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new Error(`protobuf: unsupported wire type ${wireType}`);
    }
  }
}

function defaultFor(f: FieldSpec): unknown {
  if (f.repeated) return [];
  switch (f.kind) {
    case 'uint64':
    case 'int64':
      return 0n;
    case 'bool':
      return false;
    case 'bytes':
      return new Uint8Array(0);
    case 'string':
      return '';
    default:
      return undefined;
  }
}

const utf8 = new TextDecoder('utf-8');

function readValue(r: WireReader, f: FieldSpec, wireType: number): unknown {
  switch (f.kind) {
    case 'uint64':
      return r.varint();
    case 'int64':
      return BigInt.asIntN(64, r.varint());
    case 'bool':
      return r.varint() !== 0n;
    case 'bytes':
      return r.bytes().slice();
    case 'string':
      return utf8.decode(r.bytes());
    default:
      if (wireType !== 2) throw new Error(`protobuf: ${f.name}: expected a message`);
      return decodeMessage(f.kind, r.bytes());
  }
}

/** Decode `bytes` as `schema`; unknown fields are skipped. */
export function decodeMessage(schema: MessageSchema, bytes: Uint8Array): Message {
  const out: Message = {};
  for (const f of schema.fields) out[f.name] = defaultFor(f);
  const r = new WireReader(bytes);
  while (r.pos < bytes.length) {
    const tag = Number(r.varint());
    const no = tag >>> 3;
    const wireType = tag & 7;
    const f = schema.fields.find((x) => x.no === no);
    if (f === undefined) {
      r.skip(wireType);
      continue;
    }
    if (f.repeated && wireType === 2 && (f.kind === 'uint64' || f.kind === 'int64' || f.kind === 'bool')) {
      // packed repeated scalars
      const inner = new WireReader(r.bytes());
      while (inner.pos < inner.buf.length) (out[f.name] as unknown[]).push(readValue(inner, f, 0));
      continue;
    }
    const v = readValue(r, f, wireType);
    if (f.repeated) (out[f.name] as unknown[]).push(v);
    else out[f.name] = v;
  }
  return out;
}

/** Append a varint field (`no`, wire type 0) holding `value` (two's complement for negatives). */
export function appendVarintField(bytes: Uint8Array, no: number, value: bigint): Uint8Array {
  if (value === 0n) return bytes;
  const out: number[] = [];
  const pushVarint = (v: bigint): void => {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
  };
  pushVarint(BigInt(no << 3));
  pushVarint(value);
  const res = new Uint8Array(bytes.length + out.length);
  res.set(bytes, 0);
  res.set(out, bytes.length);
  return res;
}

/** The message with only the given top-level fields, in their original order and encoding. */
export function keepFields(bytes: Uint8Array, keep: ReadonlySet<number>): Uint8Array {
  const r = new WireReader(bytes);
  const parts: Uint8Array[] = [];
  while (r.pos < bytes.length) {
    const start = r.pos;
    const tag = Number(r.varint());
    r.skip(tag & 7);
    if (keep.has(tag >>> 3)) parts.push(bytes.subarray(start, r.pos));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
