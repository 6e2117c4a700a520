/**
 * The scripted etcdctl session behind test/fixtures/etcdctl-3.4/: recorded from the real etcd 3.4
 * by test/fixtures/record.ts, replayed against the server under test by etcdctl-kv.test.ts.
 *
 * Steps run in order on ONE fresh member (revision 1 at the start), so every revision in the
 * outputs is deterministic. Add steps at the end (or re-record everything) — inserting one in
 * the middle shifts every later revision.
 */
import type { Feature } from './framework/pending.js';

export interface Step {
  /** Stable, unique, file-name-safe id; the fixture file is `NNN-<id>.json`. */
  id: string;
  /** Arguments after `etcdctl --endpoints=<endpoint>`. */
  args: string[];
  /** Standard input (txn), if any. */
  stdin?: string;
  /**
   * Capture a value from this step's stdout (first group of `regex`) under `name`; later steps
   * write `{NAME}` in their args to use it, and every output shows it as `<NAME>` (server-chosen
   * values such as lease IDs differ between servers).
   */
  capture?: { name: string; regex: RegExp };
  /** A feature the step needs (see framework/pending.ts); the replay runs it as todo while pending. */
  feature?: Feature;
}

export interface Recorded {
  /** The command as typed, with the endpoint written `<ENDPOINT>`. */
  command: string;
  args: string[];
  stdin?: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const s = (id: string, args: string[], stdin?: string): Step => (stdin === undefined ? { id, args } : { id, args, stdin });

const SORT_TARGETS = ['KEY', 'CREATE', 'MODIFY', 'VALUE', 'VERSION'] as const;

export const STEPS: Step[] = [
  // --- puts: revisions 2..9
  s('put-foo', ['put', 'foo', 'bar']),
  s('put-foo-a', ['put', 'foo/a', 'v-a']),
  s('put-foo-b', ['put', 'foo/b', 'v-b']),
  s('put-foo-c', ['put', 'foo/c', 'v-c']),
  s('put-zoo', ['put', 'zoo', 'zz']),
  s('put-foo-a-again', ['put', 'foo/a', 'v-a2']),
  s('put-prev-kv', ['put', '--prev-kv', 'foo/b', 'v-b2']),
  s('put-json', ['-w', 'json', 'put', 'foo/c', 'v-c2']),
  s('put-prev-kv-json', ['-w', 'json', 'put', '--prev-kv', 'foo/c', 'v-c3']),
  s('put-prev-kv-fields', ['-w', 'fields', 'put', '--prev-kv', 'foo/c', 'v-c4']),
  s('put-value-with-spaces', ['put', 'sp', 'a value with spaces']),
  s('put-value-newline', ['put', 'nl', 'line1\nline2']),

  // --- get, one key, every output format
  s('get', ['get', 'foo']),
  s('get-simple', ['-w', 'simple', 'get', 'foo']),
  s('get-json', ['-w', 'json', 'get', 'foo']),
  s('get-fields', ['-w', 'fields', 'get', 'foo']),
  s('get-table', ['-w', 'table', 'get', 'foo']),
  s('get-missing', ['get', 'nope']),
  s('get-missing-json', ['-w', 'json', 'get', 'nope']),
  s('get-newline-value', ['get', 'nl']),
  s('get-consistency-s', ['get', '--consistency=s', 'foo']),
  s('get-consistency-l', ['get', '--consistency=l', 'foo']),
  s('get-range-end', ['get', 'foo/a', 'foo/c']),
  s('get-range-end-json', ['-w', 'json', 'get', 'foo/a', 'foo/c']),

  // --- ranges
  s('get-prefix', ['get', '--prefix', 'foo']),
  s('get-prefix-json', ['-w', 'json', 'get', '--prefix', 'foo']),
  s('get-prefix-fields', ['-w', 'fields', 'get', '--prefix', 'foo/']),
  s('get-prefix-limit', ['get', '--prefix', '--limit=2', 'foo']),
  s('get-prefix-limit-json', ['-w', 'json', 'get', '--prefix', '--limit=2', 'foo']),
  s('get-prefix-limit-all-json', ['-w', 'json', 'get', '--prefix', '--limit=4', 'foo']),
  s('get-from-key', ['get', '--from-key', 'foo/b']),
  s('get-from-key-empty', ['get', '--from-key', '']),
  s('get-from-key-limit-json', ['-w', 'json', 'get', '--from-key', '--limit=1', 'foo/b']),
  s('get-prefix-keys-only', ['get', '--prefix', '--keys-only', 'foo']),
  s('get-prefix-keys-only-json', ['-w', 'json', 'get', '--prefix', '--keys-only', 'foo']),
  s('get-prefix-print-value-only', ['get', '--prefix', '--print-value-only', 'foo']),
  s('get-order-descend', ['get', '--prefix', '--order=DESCEND', 'foo']),
  s('get-order-ascend', ['get', '--prefix', '--order=ASCEND', 'foo']),
  ...SORT_TARGETS.flatMap((t) => [
    s(`get-sort-by-${t.toLowerCase()}`, ['get', '--prefix', `--sort-by=${t}`, 'foo']),
    s(`get-sort-by-${t.toLowerCase()}-descend`, ['get', '--prefix', `--sort-by=${t}`, '--order=DESCEND', 'foo']),
  ]),
  s('get-sort-by-modify-descend-limit-json', ['-w', 'json', 'get', '--prefix', '--sort-by=MODIFY', '--order=DESCEND', '--limit=2', 'foo']),
  s('get-bad-order', ['get', '--order=SIDEWAYS', 'foo']),
  s('get-bad-sort-by', ['get', '--sort-by=COLOR', 'foo']),
  s('get-prefix-and-from-key', ['get', '--prefix', '--from-key', 'foo']),

  // --- revisions
  s('get-rev-2', ['get', '--rev=2', 'foo']),
  s('get-rev-3-foo-a', ['get', '--rev=3', 'foo/a']),
  s('get-rev-7-foo-a-json', ['-w', 'json', 'get', '--rev=7', 'foo/a']),
  s('get-prefix-rev-4', ['get', '--prefix', '--rev=4', 'foo']),
  s('get-rev-1', ['get', '--rev=1', 'foo']),
  s('get-future-rev', ['get', '--rev=1000', 'foo']),
  s('get-future-rev-json', ['-w', 'json', 'get', '--rev=1000', 'foo']),

  // --- put edge cases
  s('put-ignore-value', ['put', '--ignore-value', 'foo']),
  s('get-after-ignore-value-json', ['-w', 'json', 'get', 'foo']),
  s('put-ignore-value-missing-key', ['put', '--ignore-value', 'nokey']),
  s('put-ignore-value-and-value', ['put', '--ignore-value', 'foo', 'v']),
  s('put-ignore-lease', ['put', '--ignore-lease', 'foo', 'bar2']),
  s('put-ignore-lease-missing-key', ['put', '--ignore-lease', 'nokey2', 'v']),
  s('put-lease-not-found', ['put', '--lease=1234', 'foo', 'v']),
  s('put-empty-key', ['put', '', 'v']),
  s('put-no-args', ['put']),
  s('put-too-many-args', ['put', 'a', 'b', 'c']),
  s('get-no-args', ['get']),
  s('get-too-many-args', ['get', 'a', 'b', 'c']),
  s('revision-unchanged-after-errors', ['-w', 'json', 'get', 'foo']),

  // --- delete
  s('del-one', ['del', 'foo/c']),
  s('del-prev-kv', ['del', '--prev-kv', 'foo/b']),
  s('del-missing', ['del', 'nope']),
  s('del-missing-json', ['-w', 'json', 'del', 'nope']),
  s('put-foo-x', ['put', 'foo/x', '1']),
  s('put-foo-y', ['put', 'foo/y', '2']),
  s('put-fooz', ['put', 'fooz', '3']),
  s('del-prefix-prev-kv-json', ['-w', 'json', 'del', '--prefix', '--prev-kv', 'foo/']),
  s('del-from-key', ['del', '--from-key', 'fooz']),
  s('del-range-end', ['del', 'nl', 'sq']),
  s('get-all-after-deletes', ['-w', 'json', 'get', '--from-key', '']),
  s('del-no-args', ['del']),
  s('del-prefix-and-from-key', ['del', '--prefix', '--from-key', 'a']),

  // --- txn: interactive (txn -i, prompts on stdout) and file form (txn < file)
  s('put-t1', ['put', 't1', 'one']),
  s('put-t2', ['put', 't2', 'two']),
  s('txn-interactive-success', ['txn', '-i'], 'value("t1") = "one"\n\nput t1 "one-b"\nget t2\n\ndel t2\n\n'),
  s('txn-interactive-failure', ['txn', '-i'], 'value("t1") = "one"\n\nput t1 "one-c"\n\nput t3 "three"\nget t1\n\n'),
  s('txn-file-success', ['txn'], 'mod("t1") > "0"\nversion("t1") = "2"\n\nput t4 "four"\nget --prefix t\n\nput t5 "five"\n\n'),
  s('txn-file-failure-json', ['-w', 'json', 'txn'], 'create("t1") = "1"\n\nput t6 "six"\n\ndel --prefix t\nget t1\n\n'),
  s('txn-file-no-compares-json', ['-w', 'json', 'txn'], '\nput t7 "seven"\nget t7\n\n\n'),
  s('txn-fields', ['-w', 'fields', 'txn'], 'value("t1") != "zzz"\n\nget t1\n\n\n'),
  s('txn-compare-less', ['txn'], 'version("t1") < "100"\ncreate("t1") > "1"\n\nget t1\n\nget t2\n\n'),
  s('txn-duplicate-put', ['txn'], '\nput d "1"\nput d "2"\n\n\n'),
  s('txn-bad-compare', ['txn'], 'valuex("t1") = "one"\n\n\n\n'),
  s('txn-bad-op', ['txn'], '\nfrobnicate t1\n\n\n'),
  s('txn-empty', ['txn'], '\n\n\n'),

  // --- compaction
  s('rev-before-compaction', ['-w', 'json', 'get', 'foo']),
  s('compaction', ['compaction', '5']),
  s('get-compacted-rev', ['get', '--rev=4', 'foo']),
  s('get-compacted-rev-json', ['-w', 'json', 'get', '--rev=3', 'foo']),
  s('get-at-compact-rev', ['get', '--rev=5', '--prefix', 'foo']),
  s('compaction-physical', ['compaction', '--physical', '10']),
  s('compaction-again', ['compaction', '8']),
  s('compaction-same', ['compaction', '10']),
  s('compaction-future', ['compaction', '100000']),
  s('compaction-bad-arg', ['compaction', 'x']),
  s('compaction-no-arg', ['compaction']),
  s('get-compacted-rev-after-physical', ['get', '--rev=9', 'foo']),
  s('get-after-compaction', ['-w', 'json', 'get', '--prefix', 't']),

  // --- status and misc
  s('endpoint-status-json', ['-w', 'json', 'endpoint', 'status']),
  s('unknown-command', ['frobnicate']),
  s('unknown-flag', ['get', '--frobnicate', 'foo']),
  s('final-state', ['-w', 'json', 'get', '--from-key', '']),

  // --- leases (the ID is chosen by the server: captured, then shown as <LEASE>)
  { id: 'lease-grant', args: ['lease', 'grant', '60'], capture: { name: 'LEASE', regex: /^lease ([0-9a-f]+) granted/ }, feature: 'lease' },
  { id: 'put-with-lease', args: ['put', '--lease={LEASE}', 'lk1', 'v1'], feature: 'lease' },
  { id: 'put-with-lease-2', args: ['put', '--lease={LEASE}', 'lk2', 'v2'], feature: 'lease' },
  { id: 'get-leased-json', args: ['-w', 'json', 'get', 'lk1'], feature: 'lease' },
  { id: 'lease-timetolive-keys', args: ['lease', 'timetolive', '--keys', '{LEASE}'], feature: 'lease' },
  { id: 'lease-list', args: ['lease', 'list'], feature: 'lease' },
  { id: 'lease-keep-alive-once', args: ['lease', 'keep-alive', '--once', '{LEASE}'], feature: 'lease' },
  { id: 'put-ignore-lease-keeps-lease', args: ['put', '--ignore-lease', 'lk1', 'v1b'], feature: 'lease' },
  { id: 'get-after-ignore-lease-json', args: ['-w', 'json', 'get', 'lk1'], feature: 'lease' },
  { id: 'lease-revoke', args: ['lease', 'revoke', '{LEASE}'], feature: 'lease' },
  { id: 'get-after-revoke-json', args: ['-w', 'json', 'get', '--prefix', 'lk'], feature: 'lease' },
  { id: 'lease-revoke-again', args: ['lease', 'revoke', '{LEASE}'], feature: 'lease' },
  { id: 'lease-timetolive-revoked', args: ['lease', 'timetolive', '{LEASE}'], feature: 'lease' },
  { id: 'lease-keep-alive-once-revoked', args: ['lease', 'keep-alive', '--once', '{LEASE}'], feature: 'lease' },
  { id: 'put-with-revoked-lease', args: ['put', '--lease={LEASE}', 'lk3', 'v'], feature: 'lease' },
  { id: 'lease-revoke-bad-id', args: ['lease', 'revoke', 'zz'], feature: 'lease' },
  { id: 'lease-grant-no-ttl', args: ['lease', 'grant'], feature: 'lease' },
  { id: 'lease-grant-too-large', args: ['lease', 'grant', '9000000001'], feature: 'lease' },
  { id: 'final-revision', args: ['-w', 'json', 'get', 'foo'], feature: 'lease' },
];

/** Applies captures and `{NAME}` substitutions in order over one run of the script. */
export class ScriptRun {
  private readonly vars = new Map<string, string>();

  /** The step's args with `{NAME}` replaced by captured values. */
  args(step: Step): string[] {
    return step.args.map((a) => a.replace(/\{([A-Z_]+)\}/g, (_m, name: string) => {
      const v = this.vars.get(name);
      if (v === undefined) throw new Error(`step ${step.id}: {${name}} used before it was captured`);
      return v;
    }));
  }

  /** Record captures from a step's raw stdout (call before normalising its outputs). */
  observe(step: Step, stdout: string): void {
    if (!step.capture) return;
    const m = step.capture.regex.exec(stdout);
    if (!m?.[1]) throw new Error(`step ${step.id}: nothing to capture in ${JSON.stringify(stdout)}`);
    this.vars.set(step.capture.name, m[1]);
  }

  /**
   * normalise(), plus captured values shown as <NAME> — only where etcdctl prints an ID (a
   * server may choose small IDs, so a bare number elsewhere, e.g. a revision, is left alone):
   * `lease <hex>`, a line that is just the hex ID (lease list), `"ID":<dec>` / `"lease":<dec>`
   * (-w json) and `"Lease" : <dec>` (-w fields).
   */
  normalise(text: string): string {
    let t = text;
    for (const [name, hex] of this.vars) {
      const dec = BigInt('0x' + hex).toString();
      t = t
        .replace(new RegExp(`\\blease ${hex}\\b`, 'g'), `lease <${name}>`)
        .replace(new RegExp(`^${hex}$`, 'gm'), `<${name}>`)
        .replace(new RegExp(`"(ID|lease)":${dec}\\b`, 'g'), `"$1":"<${name}>"`)
        .replace(new RegExp(`"Lease" : ${dec}\\b`, 'g'), `"Lease" : <${name}>`);
    }
    return normalise(t);
  }
}

/**
 * Make outputs comparable across servers and runs: ids and terms (and everything in
 * `endpoint status` that is an implementation detail: version, db size, raft index, leader)
 * become placeholders; the endpoint's port becomes <PORT>. Revisions are NOT normalised: a
 * fresh member starts at revision 1 and every server must count the same.
 */
export function normalise(text: string): string {
  let t = text;
  // json (-w json): header ids and term
  t = t.replace(/"cluster_id":\d+/g, '"cluster_id":"<CLUSTER_ID>"');
  t = t.replace(/"member_id":\d+/g, '"member_id":"<MEMBER_ID>"');
  t = t.replace(/"raft_term":\d+/g, '"raft_term":"<RAFT_TERM>"');
  // fields (-w fields)
  t = t.replace(/"ClusterID" : \d+/g, '"ClusterID" : <CLUSTER_ID>');
  t = t.replace(/"MemberID" : \d+/g, '"MemberID" : <MEMBER_ID>');
  t = t.replace(/"RaftTerm" : \d+/g, '"RaftTerm" : <RAFT_TERM>');
  // endpoint status -w json
  t = t.replace(/"leader":\d+/g, '"leader":"<MEMBER_ID>"');
  t = t.replace(/"version":"[^"]*"/g, '"version":"<VERSION>"');
  t = t.replace(/"dbSize":\d+/g, '"dbSize":"<DB_SIZE>"');
  t = t.replace(/"dbSizeInUse":\d+/g, '"dbSizeInUse":"<DB_SIZE_IN_USE>"');
  t = t.replace(/"raftIndex":\d+/g, '"raftIndex":"<RAFT_INDEX>"');
  t = t.replace(/"raftTerm":\d+/g, '"raftTerm":"<RAFT_TERM>"');
  t = t.replace(/"raftAppliedIndex":\d+/g, '"raftAppliedIndex":"<RAFT_APPLIED_INDEX>"');
  // lease timetolive: the remaining seconds depend on timing
  t = t.replace(/remaining\(\d+s\)/g, 'remaining(<N>s)');
  // ...and its attached keys come from a Go map in etcd 3.4: any order. Sort them.
  t = t.replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`);
  // client-side log lines (etcdctl 3.4 logs gRPC retries as JSON on stderr)
  t = t.replace(/"ts":"[^"]*"/g, '"ts":"<TS>"');
  t = t.replace(/endpoint:\/\/client-[0-9a-f-]+\//g, 'endpoint://client-<UUID>/');
  // endpoints
  t = t.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>');
  return t;
}

export function fixtureFileName(index: number, step: Step): string {
  return `${String(index + 1).padStart(3, '0')}-${step.id}.json`;
}

export function commandLine(step: Step): string {
  const quote = (a: string): string => (/^[A-Za-z0-9_\-=./:]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['etcdctl', '--endpoints=<ENDPOINT>', ...step.args.map(quote)].join(' ') + (step.stdin !== undefined ? ' < stdin' : '');
}
