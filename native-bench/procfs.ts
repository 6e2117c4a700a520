/** Process figures from /proc (Linux): resident memory, CPU time; and a directory's size. */
import { readFileSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';

/** VmRSS of a process in bytes, or NaN if it is gone. */
export function rssBytes(pid: number): number {
  try {
    return parseVmRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return NaN;
  }
}

export function parseVmRss(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** utime + stime of a process in seconds (clock ticks assumed 100/s, Linux's USER_HZ). */
export function cpuSeconds(pid: number): number {
  try {
    return parseStatCpuS(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return NaN;
  }
}

export function parseStatCpuS(stat: string): number {
  // fields after the ")" of the command name: state is field 3; utime 14, stime 15
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** Bytes allocated on disk under a directory (like du). */
export function dirBytes(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else total += st.blocks * 512;
    }
  };
  try {
    walk(dir);
  } catch {
    return NaN;
  }
  return total;
}
