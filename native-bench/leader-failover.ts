/**
 * Leader fail-over, side by side: the time from kill -9 of the leader of a 3-member cluster to
 * the first acknowledged write committed by the new leader, for the real etcd and etcd-ts.
 *
 *   node dist/native-bench/leader-failover.js [--rounds 5] [--servers real,ours] [-- extra server flags]
 *
 * For each server (alternating, round by round): one 3-member cluster on 127.0.0.1 (the
 * test framework's, test/e2e/framework/cluster.ts: the real etcd from ETCD_BIN, default
 * /usr/bin/etcd, or this checkout's bin/etcd), default Raft timing (100 ms heartbeat, 1 s
 * election timeout) and each server's default --pre-vote. Each round: writers (raw gRPC, two per
 * follower, pinned to it, each put with a 500 ms deadline, retried at once on failure) run until
 * 50 puts are acknowledged; then the leader is killed with SIGKILL and the clock starts; it stops
 * at the first acknowledged put whose response header carries a higher Raft term than the
 * killed leader's (so a put the old leader committed just before dying does not count). Then
 * the killed member is restarted and the cluster waits for one agreed leader of all three
 * before the next round. Prints every round and the medians; numbers only, never pass/fail.
 */
import { Cluster, type Member } from '../test/e2e/framework/cluster.js';
import { RawEtcdClient } from '../test/e2e/framework/raw.js';
import { sleep, type ServerKind } from '../test/e2e/framework/process.js';
import { agreedLeader, waitFor } from '../test/fault/cluster-checks.js';
import { etcdserverpb } from '../src/proto/pb.js';

interface Args {
  rounds: number;
  servers: ServerKind[];
  extraFlags: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { rounds: 5, servers: ['real', 'ours'], extraFlags: [] };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    if (v === '--') {
      a.extraFlags = argv.slice(i + 1);
      break;
    } else if (v === '--rounds') a.rounds = Number(argv[++i]);
    else if (v === '--servers') a.servers = argv[++i]!.split(',').map((s) => (s === 'real' ? 'real' : s === 'ours' ? 'ours' : usage(`unknown server ${s}`)));
    else usage(`unknown argument ${v}`);
  }
  if (!Number.isInteger(a.rounds) || a.rounds < 1) usage('--rounds must be a positive integer');
  return a;
}

function usage(msg: string): never {
  console.error(`leader-failover: ${msg}\nusage: node dist/native-bench/leader-failover.js [--rounds N] [--servers real,ours] [-- server flags]`);
  process.exit(2);
}

/** One round: ms from SIGKILL of the leader to the first put acknowledged in a later term. */
async function round(c: Cluster): Promise<{ ms: number; from: string; to: string }> {
  const before = await waitFor(() => 'no agreed leader', 60_000, () => agreedLeader(c.members));
  const followers = c.members.filter((m) => m !== before.leader);
  let acks = 0;
  let killedAt: bigint | undefined;
  let firstNewTermAck: bigint | undefined;
  let stop = false;
  const clients = followers.flatMap((m) => [new RawEtcdClient(m.endpoint), new RawEtcdClient(m.endpoint)]);
  let seq = 0;
  const writer = async (cl: RawEtcdClient): Promise<void> => {
    while (!stop) {
      const req = etcdserverpb.PutRequest.encode({ key: Buffer.from(`fo/${seq++ % 1000}`), value: Buffer.from('v') }).finish();
      const r = await cl.call('/etcdserverpb.KV/Put', req, 500);
      if (r.ok) {
        acks++;
        const term = Number(etcdserverpb.PutResponse.decode(r.bytes).header?.raftTerm ?? 0);
        if (killedAt !== undefined && firstNewTermAck === undefined && term > before.term) {
          firstNewTermAck = process.hrtime.bigint();
          stop = true;
        }
      } else {
        await sleep(1);
      }
    }
  };
  const writers = clients.map((cl) => writer(cl));
  try {
    await waitFor(() => 'no 50 acknowledged puts before the kill', 60_000, () => (acks >= 50 ? true : undefined));
    killedAt = process.hrtime.bigint();
    await before.leader.kill9();
    await waitFor(() => 'no put acknowledged by a new leader', 60_000, () => (firstNewTermAck !== undefined ? true : undefined));
  } finally {
    stop = true;
    await Promise.all(writers);
    for (const cl of clients) cl.close();
  }
  const after = await waitFor(() => 'no new leader', 60_000, () => agreedLeader(followers));
  await restart(before.leader);
  return { ms: Number(firstNewTermAck! - killedAt!) / 1e6, from: before.leader.name, to: after.leader.name };
}

async function restart(m: Member): Promise<void> {
  m.spawn();
  await m.waitReady();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const clusters = new Map<ServerKind, Cluster>();
  const results = new Map<ServerKind, number[]>(a.servers.map((s) => [s, []]));
  try {
    for (const s of a.servers) clusters.set(s, await Cluster.start({ kind: s, name: s === 'real' ? 'etcd' : 'ts', size: 3, extraFlags: a.extraFlags }));
    for (let r = 1; r <= a.rounds; r++) {
      for (const s of a.servers) {
        const res = await round(clusters.get(s)!);
        results.get(s)!.push(res.ms);
        console.log(JSON.stringify({ server: s, round: r, killToFirstAckMs: Math.round(res.ms), killed: res.from, newLeader: res.to }));
      }
    }
  } finally {
    for (const c of clusters.values()) await c.close();
  }
  console.log('\n| server | rounds | kill -9 of the leader -> first acknowledged put in the new term, ms: median (min-max) |\n|---|---|---|');
  for (const [s, xs] of results) {
    console.log(`| ${s === 'real' ? 'etcd (real)' : 'etcd-ts'} | ${xs.length} | ${Math.round(median(xs))} (${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}) |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
