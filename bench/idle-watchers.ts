/**
 * `--idle-watchers N`: before a workload starts, open N watchers that never see an event
 * (keys under "\xffidle/", which no workload writes), spread over `--idle-streams` streams on
 * their own connection, and keep them open until the workload ends. Measures what many idle
 * watchers cost the write path (issue 9: put latency with 100,000 idle watchers vs none).
 */
import { EtcdConn, type WatchResponse } from './etcd-client.js';

export interface IdleWatchers {
  close(): void;
}

export async function openIdleWatchers(endpoint: string, count: number, streams: number): Promise<IdleWatchers> {
  const conns = [new EtcdConn(endpoint, 0), new EtcdConn(endpoint, 0)];
  const calls: ReturnType<EtcdConn['watchStream']>[] = [];
  let created = 0;
  let failed: Error | undefined;
  const perStream = Math.ceil(count / streams);
  for (let s = 0, n = 0; s < streams && n < count; s++) {
    const call = conns[s % conns.length]!.watchStream();
    call.on('data', (r: WatchResponse) => {
      if (r.created) created++;
    });
    call.on('error', (e: Error) => {
      failed ??= e;
    });
    calls.push(call);
    for (let i = 0; i < perStream && n < count; i++, n++) {
      call.write({ createRequest: { key: Buffer.from(`\xffidle/${n}`, 'latin1') } });
    }
  }
  const deadline = Date.now() + 600_000;
  while (created < count) {
    if (failed !== undefined) throw new Error(`idle watchers: ${failed.message}`);
    if (Date.now() > deadline) throw new Error(`idle watchers: only ${created} of ${count} created in 10 minutes`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    close() {
      for (const c of calls) c.cancel();
      for (const c of conns) c.client.close();
    },
  };
}
