/**
 * Key index keys (docs/storage-lmdb.md, "EscapedKey", dbi `kidx`): EscapedKey ++ Revision.
 *
 * Escape: 0x00 -> 0x00 0xFF; terminator 0x00 0x00. Order-preserving and prefix-free, so one
 * ordered scan over `kidx` visits keys in etcd's byte order, each key's revisions ascending.
 */
import { REV_BYTES, assert, writeRevision } from './revision.js';

/** lmdb-js's largest key (bytes). */
export const LMDB_MAX_KEY_BYTES = 1978;

export function escapedKeyLength(key: Uint8Array): number {
  let n = key.length + 2;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) n++;
  return n;
}

/** Whether `key` can be stored (in `latest` and as an IndexKey). */
export function isStorableKey(key: Uint8Array): boolean {
  return key.length > 0 && escapedKeyLength(key) + REV_BYTES <= LMDB_MAX_KEY_BYTES;
}

/** The prefix shared by every `kidx` entry of `key`. */
export function encodeKeyPrefix(key: Uint8Array, extra = 0): Buffer {
  const b = Buffer.allocUnsafe(escapedKeyLength(key) + extra);
  let o = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    b[o++] = c;
    if (c === 0) b[o++] = 0xff;
  }
  b[o++] = 0;
  b[o++] = 0;
  assert(o === b.length - extra, 'escaped key length');
  return b;
}

export function encodeIndexKey(key: Uint8Array, main: number, sub: number): Buffer {
  const b = encodeKeyPrefix(key, REV_BYTES);
  writeRevision(b, b.length - REV_BYTES, main, sub);
  return b;
}

/** A key just above every `kidx` entry of the prefix (revisions never reach 0xFF.. ). */
export function afterPrefix(prefix: Uint8Array): Buffer {
  const b = Buffer.alloc(prefix.length + REV_BYTES + 1, 0xff);
  b.set(prefix, 0);
  return b;
}

/** Split an IndexKey into the prefix (escaped key) and the raw user key. */
export function indexKeyPrefix(indexKey: Buffer): Buffer {
  assert(indexKey.length >= REV_BYTES + 2, 'index key: short');
  return indexKey.subarray(0, indexKey.length - REV_BYTES);
}

export function decodeKeyPrefix(prefix: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length);
  let o = 0;
  let i = 0;
  for (;;) {
    assert(i < prefix.length, 'escaped key: no terminator');
    const c = prefix[i++]!;
    if (c !== 0) {
      out[o++] = c;
      continue;
    }
    const next = prefix[i++];
    if (next === 0xff) out[o++] = 0;
    else {
      assert(next === 0 && i === prefix.length, 'escaped key: bad terminator');
      return out.subarray(0, o);
    }
  }
}
