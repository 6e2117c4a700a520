/**
 * `npm run bench -- <workload> [flags]`: a load generator for etcd v3 servers (the real
 * etcd and etcd-ts), with workloads named as in etcd's tools/benchmark. See USAGE in
 * args.ts and docs/benchmarks.md.
 */
import { ArgError, USAGE, parseBenchArgs } from './args.js';
import { findLeader, useTls } from './etcd-client.js';
import { runGateway } from './gateway.js';
import { prefill } from './prefill.js';
import { formatHuman, formatJson } from './report.js';
import type { BenchResult } from './result.js';
import { runRequests } from './runner.js';
import { runWatch } from './watch.js';
import { openIdleWatchers } from './idle-watchers.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (e) {
    if (e instanceof ArgError) {
      console.error(`bench: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  useTls(opts);
  const endpoints = opts.targetLeader ? [await findLeader(opts.endpoints)] : opts.endpoints;
  if (opts.prefill) await prefill(endpoints[0]!, opts.keySpaceSize, opts.keySize, opts.valSize);
  const idle = opts.idleWatchers > 0 ? await openIdleWatchers(endpoints[0]!, opts.idleWatchers, opts.idleStreams) : undefined;
  let r: BenchResult;
  try {
  switch (opts.workload) {
    case 'watch':
    case 'watch-latency':
      r = await runWatch(opts, endpoints);
      break;
    case 'gateway':
      r = await runGateway(opts, endpoints);
      break;
    default:
      r = await runRequests(opts, endpoints);
  }
  } finally {
    idle?.close();
  }
  if (opts.idleWatchers > 0) r = { ...r, extra: { ...(r.extra ?? {}), idleWatchers: opts.idleWatchers } };
  console.log(opts.json ? formatJson(r) : formatHuman(r));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
