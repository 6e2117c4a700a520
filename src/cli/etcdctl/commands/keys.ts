/** Key ranges as clientv3's options build them (WithPrefix, WithFromKey, WithRange). */

const enc = new TextEncoder();

export function bytesOf(s: string): Uint8Array {
  return enc.encode(s);
}

/** The end of the range holding every key with this prefix (clientv3.GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // every byte is 0xff: no upper bound (from key)
  return new Uint8Array([0]);
}

/** `--from-key`: range_end "\0" (everything from the key on). */
export const FROM_KEY_END = new Uint8Array([0]);

/**
 * Key and range end for get/del: `--prefix`, `--from-key`, or an explicit [key, range_end).
 * An empty key with --prefix or --from-key means "\0" with --from-key (all keys).
 */
export function keyRange(key: string, rangeEnd: string | undefined, prefix: boolean, fromKey: boolean): { key: Uint8Array; rangeEnd: Uint8Array } {
  let k = bytesOf(key);
  let end: Uint8Array = rangeEnd !== undefined ? bytesOf(rangeEnd) : new Uint8Array(0);
  if (prefix) {
    if (k.length === 0) {
      k = new Uint8Array([0]);
      end = FROM_KEY_END;
    } else end = prefixRangeEnd(k);
  }
  if (fromKey) {
    if (k.length === 0) k = new Uint8Array([0]);
    end = FROM_KEY_END;
  }
  return { key: k, rangeEnd: end };
}
