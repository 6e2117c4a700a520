/**
 * The `gateway` workload: etcd's HTTP/JSON gateway (/v3/kv/put or /v3/kv/range, keys and
 * values base64) driven by autocannon, with --clients HTTP/1.1 connections.
 */
import autocannon from 'autocannon';
import type { BenchOptions } from './args.js';
import { KeyChooser, keyText } from './keys.js';
import type { BenchResult } from './result.js';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

export async function runGateway(opts: BenchOptions, endpoints: string[]): Promise<BenchResult> {
  const keys = new KeyChooser(opts.keySpaceSize, opts.sequentialKeys, 12345);
  const value = b64(Buffer.alloc(opts.valSize, 0x76));
  const path = opts.gatewayOp === 'put' ? '/v3/kv/put' : '/v3/kv/range';
  const body = (): string => {
    const key = b64(keyText(keys.next(), opts.keySize));
    return opts.gatewayOp === 'put'
      ? JSON.stringify({ key, value })
      : JSON.stringify({ key, serializable: opts.consistency === 's', limit: opts.limit });
  };
  const acOpts: autocannon.Options = {
    url: `http://${endpoints[0]!}`,
    connections: opts.clients,
    pipelining: 1,
    timeout: Math.ceil(opts.timeoutMs / 1000),
    requests: [{ method: 'POST', path, headers: { 'content-type': 'application/json' }, setupRequest: (r) => ({ ...r, body: body() }) }],
    ...(opts.total > 0 ? { amount: opts.total } : { duration: opts.durationS }),
    ...(opts.rate > 0 ? { overallRate: opts.rate } : {}),
  };
  const cpu0 = process.cpuUsage();
  const r = await autocannon(acOpts);
  const cpu = process.cpuUsage(cpu0);
  const l = r.latency;
  const errors: Record<string, number> = {};
  if (r.non2xx > 0) errors['non-2xx'] = r.non2xx;
  if (r.errors > 0) errors['socket'] = r.errors;
  if (r.timeouts > 0) errors['timeout'] = r.timeouts;
  const count = r.requests.total - r.non2xx;
  return {
    workload: 'gateway',
    params: { op: opts.gatewayOp, clients: opts.clients, keySize: opts.keySize, valSize: opts.valSize, keySpaceSize: opts.keySpaceSize },
    count,
    errors,
    errorCount: Object.values(errors).reduce((a, b) => a + b, 0),
    elapsedS: r.duration,
    throughput: r.duration > 0 ? count / r.duration : 0,
    generatorCpuS: (cpu.user + cpu.system) / 1e6,
    latency: {
      count, meanMs: l['average'] ?? 0, p50Ms: l['p50'] ?? 0, p90Ms: l['p90'] ?? 0,
      p99Ms: l['p99'] ?? 0, p999Ms: l['p99_9'] ?? 0, maxMs: l['max'] ?? 0,
    },
  };
}
