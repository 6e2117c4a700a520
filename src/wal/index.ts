/** Public surface of the WAL module (docs/storage-wal.md). */
export type { Wal, WalOptions, WalRecovery, WalSnapshot } from './types.js';
export { SEGMENT_BYTES_DEFAULT, MAX_BATCH_BYTES_DEFAULT, MAX_BATCH_DELAY_MS_DEFAULT } from './types.js';
export { openWal, openWalSync, FileWal } from './wal.js';
export { WalCorruptError, WalInvalidArgumentError, WalClosedError } from './errors.js';
export {
  CodecError,
  ENTRY_HEADER_BYTES,
  HARD_STATE_BYTES,
  encodeEntry,
  decodeEntry,
  encodeHardState,
  decodeHardState,
  entryEncodingBytes,
  writeEntry,
  readEntry,
  writeHardState,
  readHardState,
} from './codec.js';
