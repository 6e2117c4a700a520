/**
 * Reads the journal written by shim.c (the record layout is documented there): every write and
 * every sync a process made to the files under one directory, in the order they completed.
 */
import { readFileSync } from 'node:fs';

export const enum RecordType {
  Open = 1,
  Write = 2,
  Trunc = 3,
  Sync = 4,
  DirSync = 5,
  Rename = 6,
  Unlink = 7,
  Mkdir = 8,
  Rmdir = 9,
  SyncAll = 10,
  Unsupported = 11,
  Falloc = 12,
}

export interface JournalRecord {
  readonly type: RecordType;
  readonly seq: number;
  readonly ino: number;
  readonly off: number;
  readonly len: number;
  readonly aux: number;
  /** OPEN, DIRSYNC, UNLINK, MKDIR, RMDIR, UNSUPPORTED: the path (or text); RENAME: the old path. */
  readonly path: string;
  /** RENAME only: the new path. */
  readonly path2: string;
  /** WRITE only: the bytes written (undefined when aux bit 0 says they were all zero). */
  readonly data: Buffer | undefined;
}

const HEADER_BYTES = 48;

/** WRITE aux bits. */
export const WRITE_ZERO = 1;
export const WRITE_DSYNC = 2;
/** OPEN aux bits. */
export const OPEN_CREATED = 1;
export const OPEN_DIR = 2;

/** All complete records; a record cut short by kill -9 at the end is dropped. */
export function readJournal(path: string): JournalRecord[] {
  const b = readFileSync(path);
  const out: JournalRecord[] = [];
  let o = 0;
  while (o + HEADER_BYTES <= b.length) {
    const type = b.readUInt32LE(o) as RecordType;
    const pathBytes = b.readUInt32LE(o + 4);
    const num = (at: number): number => Number(b.readBigUInt64LE(o + at));
    const seq = num(8);
    const ino = num(16);
    const off = num(24);
    const len = num(32);
    const aux = num(40);
    const dataBytes = type === RecordType.Write && (aux & WRITE_ZERO) === 0 ? len : 0;
    const end = o + HEADER_BYTES + pathBytes + dataBytes;
    if (end > b.length) break;
    if (type < RecordType.Open || type > RecordType.Falloc || seq !== out.length + 1) {
      throw new Error(`power-loss journal ${path}: bad record at offset ${o} (type ${type}, seq ${seq}, expected seq ${out.length + 1})`);
    }
    const p = b.subarray(o + HEADER_BYTES, o + HEADER_BYTES + pathBytes).toString();
    const nul = p.indexOf('\0');
    out.push({
      type,
      seq,
      ino,
      off,
      len,
      aux,
      path: nul >= 0 ? p.slice(0, nul) : p,
      path2: nul >= 0 ? p.slice(nul + 1) : '',
      data: dataBytes > 0 ? Buffer.from(b.subarray(o + HEADER_BYTES + pathBytes, end)) : undefined,
    });
    o = end;
  }
  return out;
}
