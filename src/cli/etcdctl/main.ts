/** The `etcdctl` executable (bin/etcdctl): runs ./etcdctl.ts on the process's argv and streams. */
import { ExitCode } from './global.js';
import type { Output } from './printers/printer.js';
import { run } from './etcdctl.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

const processOutput: Output = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
};

const flush = (s: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => s.write('', () => resolve()));

const code = await run(process.argv.slice(2), processOutput, process.env, () => readAll(process.stdin)).catch((e: unknown) => {
  process.stderr.write(`Error: ${e instanceof Error ? e.message : String(e)}\n`);
  return ExitCode.Error;
});
await flush(process.stdout);
await flush(process.stderr);
process.exit(code);
