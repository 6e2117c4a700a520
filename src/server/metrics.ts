/**
 * /metrics: Prometheus text with etcd's metric names where they exist. Values are read
 * from the server when scraped (collect callbacks), so the hot path only bumps plain
 * counters (EtcdServer.counters).
 */
import { Registry, Gauge, Histogram, Counter, collectDefaultMetrics } from 'prom-client';
import type { EtcdServer } from './etcd-server.js';
import { idToHex } from '../util/pure/id64.js';

/** Health check counts (api/http/health.ts keeps them; declared here, by their consumer). */
export interface HealthCounters {
  readonly success: number;
  readonly failures: number;
  readonly checks: ReadonlyMap<string, { readonly ok: boolean; readonly success: number; readonly error: number }>;
}

const ALARM_TYPES = ['NONE', 'NOSPACE', 'CORRUPT'];

/** Raft snapshot transfers (src/server/node/raft-snapshots.ts; declared here, by its consumer). */
export interface SnapshotCounters {
  /** By the receiving member's hex ID. */
  readonly send: ReadonlyMap<string, { readonly success: number; readonly failures: number; readonly seconds: number }>;
  /** By the sending member's hex ID. */
  readonly receive: ReadonlyMap<string, { readonly success: number; readonly failures: number }>;
  /** A received snapshot is being installed now. */
  readonly applying: boolean;
}

export function createMetrics(server: EtcdServer, health?: HealthCounters, snapshots?: () => SnapshotCounters | undefined): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (server.hasLeader() ? 1 : 0));
  gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (server.isLeader() ? 1 : 0));
  gauge('etcd_server_leader_changes_seen_total', 'The number of leader changes seen.', () => server.leaderChangesSeen);
  gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', () => server.counters.proposalsCommitted);
  gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', () => server.counters.proposalsApplied);
  gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', () => server.proposalsPending);
  gauge('etcd_server_proposals_failed_total', 'The total number of failed proposals seen.', () => server.counters.proposalsFailed);
  gauge('etcd_ts_server_forwarded_answered_at_commit_total', 'Plain puts this member forwarded to the leader and answered at commit (before apply).', () => server.counters.forwardedAnsweredAtCommit);
  gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', () => server.status().dbSize as number);
  gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', () => server.status().dbSizeInUse as number);
  gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', () => server.status().dbSizeQuota as number);
  gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => Number(server.status().header?.revision ?? 0));
  gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => server.compactedRevision());
  gauge('etcd_server_snapshot_apply_in_progress_total', '1 if the server is applying the incoming snapshot. 0 if none.', () => (snapshots?.()?.applying === true ? 1 : 0));
  const snapshotCounter = (name: string, help: string, label: 'To' | 'From', read: (s: SnapshotCounters) => ReadonlyMap<string, number>): void => {
    new Counter({
      name, help, labelNames: [label], registers: [registry],
      collect() {
        const s = snapshots?.();
        if (s === undefined) return;
        this.reset();
        for (const [peer, n] of read(s)) this.inc({ [label]: peer }, n);
      },
    });
  };
  const pick = <T>(m: ReadonlyMap<string, T>, f: (v: T) => number): ReadonlyMap<string, number> => new Map([...m].map(([k, v]) => [k, f(v)]));
  snapshotCounter('etcd_network_snapshot_send_success', 'Total number of successful snapshot sends', 'To', (s) => pick(s.send, (v) => v.success));
  snapshotCounter('etcd_network_snapshot_send_failures', 'Total number of snapshot send failures', 'To', (s) => pick(s.send, (v) => v.failures));
  snapshotCounter('etcd_network_snapshot_send_total_duration_seconds', 'Total time spent sending snapshots (seconds)', 'To', (s) => pick(s.send, (v) => v.seconds));
  snapshotCounter('etcd_network_snapshot_receive_success', 'Total number of successful snapshot receives', 'From', (s) => pick(s.receive, (v) => v.success));
  snapshotCounter('etcd_network_snapshot_receive_failures', 'Total number of snapshot receive failures', 'From', (s) => pick(s.receive, (v) => v.failures));
  new Gauge({
    name: 'etcd_debugging_mvcc_keys_total',
    help: 'Total number of keys.',
    registers: [registry],
    async collect() {
      this.set(await server.keyCount());
    },
  });
  new Gauge({
    name: 'etcd_debugging_server_alarms',
    help: "Alarms for every member in cluster. 1 for 'server_id' label with current ID. 2 for 'alarm_type' label with type of this alarm",
    labelNames: ['server_id', 'alarm_type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of server.alarms) this.set({ server_id: idToHex(a.memberId), alarm_type: ALARM_TYPES[a.alarm] ?? String(a.alarm) }, 1);
    },
  });
  if (health !== undefined) {
    new Counter({ name: 'etcd_server_health_success', help: 'The total number of successful health checks', registers: [registry], collect() {
      this.reset();
      this.inc(health.success);
    } });
    new Counter({ name: 'etcd_server_health_failures', help: 'The total number of failed health checks', registers: [registry], collect() {
      this.reset();
      this.inc(health.failures);
    } });
    new Gauge({ name: 'etcd_server_healthcheck', help: 'The result of each kind of healthcheck.', labelNames: ['type', 'name'], registers: [registry], collect() {
      for (const [k, v] of health.checks) {
        const [type, name] = k.split('/');
        this.set({ type: type!, name: name! }, v.ok ? 1 : 0);
      }
    } });
    new Counter({ name: 'etcd_server_healthchecks_total', help: 'The total number of each kind of healthcheck.', labelNames: ['type', 'name', 'status'], registers: [registry], collect() {
      this.reset();
      for (const [k, v] of health.checks) {
        const [type, name] = k.split('/');
        if (v.success > 0) this.inc({ type: type!, name: name!, status: 'success' }, v.success);
        if (v.error > 0) this.inc({ type: type!, name: name!, status: 'error' }, v.error);
      }
    } });
  }
  new Gauge({ name: 'etcd_server_version', help: 'Which version is running. 1 for the server_version label with the current version.', labelNames: ['server_version'], registers: [registry] })
    .set({ server_version: server.version }, 1);
  // The member ID as etcd labels it: hex, as in its logs (decision 0003).
  new Gauge({ name: 'etcd_server_id', help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", labelNames: ['server_id'], registers: [registry] })
    .set({ server_id: idToHex(server.identity.memberId) }, 1);
  // Stage latencies: etcd's names where the stage matches, ours (etcd_ts_*) where it does not.
  const buckets = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024];
  const walAppend = new Histogram({
    name: 'etcd_ts_wal_append_duration_seconds',
    help: 'From handing a batch of entries to the WAL writer thread until it is durable (write + fdatasync + two thread hops).',
    buckets,
    registers: [registry],
  });
  const apply = new Histogram({
    name: 'etcd_ts_apply_duration_seconds',
    help: 'From handing a batch of committed entries to the apply thread until its outcomes are back (one LMDB transaction).',
    buckets,
    registers: [registry],
  });
  const batchEntries = new Histogram({
    name: 'etcd_ts_wal_append_batch_entries',
    help: 'Entries per WAL append from the main thread (proposals gathered in one event-loop turn).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [registry],
  });
  // etcd's disk histograms, fed by the closest stage we have: a WAL append is write + one
  // fdatasync for the batch (plus two thread hops); a backend commit is one LMDB write
  // transaction for an apply batch (plus two thread hops). etcd's buckets.
  const walFsync = new Histogram({
    name: 'etcd_disk_wal_fsync_duration_seconds',
    help: 'The latency distributions of fsync called by WAL.',
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [registry],
  });
  const backendCommit = new Histogram({
    name: 'etcd_disk_backend_commit_duration_seconds',
    help: 'The latency distributions of commit called by backend.',
    buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
    registers: [registry],
  });
  server.observe({
    walAppend: (seconds, entries) => {
      walAppend.observe(seconds);
      walFsync.observe(seconds);
      batchEntries.observe(entries);
    },
    apply: (seconds) => {
      apply.observe(seconds);
      backendCommit.observe(seconds);
    },
  });
  return registry;
}
