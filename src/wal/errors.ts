/** WAL errors. Codes follow ETCD_ERR_<LAYER>_<CONDITION> (style.md). */

/** The WAL on disk is damaged (or is not an etcd-ts WAL). Never repaired automatically. */
export class WalCorruptError extends Error {
  override name = 'WalCorruptError';
  readonly code = 'ETCD_ERR_WAL_CORRUPT';
  constructor(
    /** Path of the segment file. */
    readonly file: string,
    /** Byte offset of the bad record in that file. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`wal: corrupt record in ${file} at offset ${offset}: ${reason}`);
  }
}

/** A caller handed the WAL something it must not persist (index gap, bad field). */
export class WalInvalidArgumentError extends Error {
  override name = 'WalInvalidArgumentError';
  readonly code = 'ETCD_ERR_WAL_INVALID_ARGUMENT';
}

/** Operation on a closed WAL. */
export class WalClosedError extends Error {
  override name = 'WalClosedError';
  readonly code = 'ETCD_ERR_WAL_CLOSED';
  constructor() {
    super('wal: closed');
  }
}
