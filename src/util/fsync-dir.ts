/**
 * fsync of a directory: makes the entries created, renamed or removed in it durable (a file's
 * own fsync does not, by POSIX). docs/storage.md, "Directory entries".
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
