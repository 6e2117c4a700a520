/** One line describing the machine a run was made on. */
import { cpus, totalmem, release } from 'node:os';

export function machineLine(): string {
  const c = cpus();
  return `${c.length} vCPU ${c[0]?.model.trim() ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`;
}
