/**
 * The numbered table of LMDB databases and meta keys (docs/storage-lmdb.md is the spec).
 */

export interface DbiSpec {
  readonly id: number;
  readonly name: string;
}

/** dbi 1: meta key (ASCII) -> value (u64 BE unless stated). */
export const DBI_META: DbiSpec = { id: 1, name: 'meta' };
/** dbi 2: Revision (16 bytes) -> KvRecord. etcd's `key` bucket. */
export const DBI_REV: DbiSpec = { id: 2, name: 'rev' };
/** dbi 3: EscapedKey ++ Revision -> IndexRecord (25 bytes). The key index. */
export const DBI_KIDX: DbiSpec = { id: 3, name: 'kidx' };
/** dbi 4: user key -> LatestRecord (41 bytes). Head of each key's history. */
export const DBI_LATEST: DbiSpec = { id: 4, name: 'latest' };

/** dbi 5: user key -> empty, for every key whose head in `latest` is a tombstone (fast counts). */
export const DBI_TOMBS: DbiSpec = { id: 5, name: 'tombs' };

/** dbi 6: lease ID u64 BE ++ user key -> empty, for every live key attached to a lease. */
export const DBI_LEASE_KEYS: DbiSpec = { id: 6, name: 'lease_keys' };

/** dbi 7: lease ID u64 BE -> LeaseRecord (granted TTL u64 BE, checkpointed remaining TTL u64 BE); docs/leases.md. */
export const DBI_LEASES: DbiSpec = { id: 7, name: 'leases' };

export const DBIS: readonly DbiSpec[] = [DBI_META, DBI_REV, DBI_KIDX, DBI_LATEST, DBI_TOMBS, DBI_LEASE_KEYS, DBI_LEASES];

export const META_APPLIED_INDEX = Buffer.from('applied_index');
export const META_CONSISTENT_TERM = Buffer.from('consistent_term');
export const META_CURRENT_REV = Buffer.from('current_rev');
export const META_COMPACTED_REV = Buffer.from('compacted_rev');
export const META_SCHEDULED_COMPACT_REV = Buffer.from('scheduled_compact_rev');
export const META_FINISHED_COMPACT_REV = Buffer.from('finished_compact_rev');
/** Value: an IndexKey (not a u64). */
export const META_COMPACT_CURSOR = Buffer.from('compact_cursor');
export const META_SCHEMA_VERSION = Buffer.from('schema_version');
/** Cluster membership (JSON, src/apply/membership.ts), written with the applied index that made it. */
export const META_MEMBERS = Buffer.from('members');

/** Layout version written by this code; a file with another version is refused. */
export const SCHEMA_VERSION = 1;

/**
 * Prefix of the alarm keys in the meta dbi: `alarm/` ++ member ID (u64 BE) ++ alarm type (u8),
 * value empty. Present while that member's alarm is active (docs/storage-lmdb.md, "Meta keys").
 */
export const META_ALARM_PREFIX = Buffer.from('alarm/');
