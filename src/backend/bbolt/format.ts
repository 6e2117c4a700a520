/**
 * The bbolt file format (etcd's backend), as far as etcd-ts writes and reads it: snapshots in
 * etcd's format (docs/snapshot-format.md). Facts from bbolt's page.go, db.go, bucket.go and
 * freelist.go (v1.3): all integers little-endian; pages of `pageSize` bytes; page N at N x pageSize.
 *
 * Page header (16 bytes):
 *   | 0 id u64 | 8 flags u16 | 10 count u16 | 12 overflow u32 (extra pages this page spans) |
 * flags: 0x01 branch, 0x02 leaf, 0x04 meta, 0x10 freelist.
 *
 * Meta page (pages 0 and 1; the valid one with the higher txid wins), at offset 16:
 *   | 0 magic u32 = 0xED0CDAED | 4 version u32 = 2 | 8 pageSize u32 | 12 flags u32 |
 *   | 16 root bucket: root pgid u64, sequence u64 | 32 freelist pgid u64 |
 *   | 40 pgid u64 (high-water mark: pages in use) | 48 txid u64 | 56 checksum u64 |
 * checksum: FNV-1a 64 over the 56 bytes before it.
 *
 * Leaf page: header, `count` elements of 16 bytes { flags u32, pos u32, ksize u32, vsize u32 },
 *   then key and value bytes; pos counts from the element's own first byte.
 *   Element flag 0x01: the value is a bucket: { root pgid u64, sequence u64 } (16 bytes), and when
 *   root is 0 the bucket is inline: a leaf page (header with id 0) follows in the value.
 * Branch page: header, `count` elements of 16 bytes { pos u32, ksize u32, pgid u64 }, then keys;
 *   each key is the first key of the child page.
 * Freelist page: header; count u16 ids of free pages (u64 each); when count is 0xFFFF the first
 *   u64 holds the real count.
 * A page of size > pageSize spans `overflow` further pages.
 */
export const BOLT_MAGIC = 0xed0cdaed;
export const BOLT_VERSION = 2;
export const PAGE_HEADER_BYTES = 16;
export const ELEMENT_BYTES = 16;
export const BUCKET_HEADER_BYTES = 16;
export const META_BYTES = 64;
export const META_CHECKSUM_OFFSET = 56;

export const FLAG_BRANCH = 0x01;
export const FLAG_LEAF = 0x02;
export const FLAG_META = 0x04;
export const FLAG_FREELIST = 0x10;
export const LEAF_FLAG_BUCKET = 0x01;

/** etcd's page size on Linux (the OS page size); bbolt reads the size from the meta page. */
export const DEFAULT_PAGE_SIZE = 4096;

/** bbolt's limits (bucket.go MaxKeySize, MaxValueSize). */
export const MAX_KEY_BYTES = 32768;
export const MAX_VALUE_BYTES = 2 ** 31 - 2;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

/** FNV-1a, 64 bits (Go's hash/fnv New64a). */
export function fnv1a64(b: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (let i = 0; i < b.length; i++) {
    h ^= BigInt(b[i]!);
    h = (h * FNV_PRIME) & U64;
  }
  return h;
}
