/**
 * The cases of a suite. A request case is one `npm run bench` command line; the memory
 * case loads keys and measures RSS, data dir size and restart time. Every case has an id
 * (stable, used by --only and in results) and the figures it reports, each with the
 * direction that is better.
 */
export interface Figure {
  /** key in the case's result */
  key: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
}

export interface RequestCase {
  kind: 'request';
  id: string;
  label: string;
  members: number;
  /** bench arguments, without --endpoints / --json */
  args: string[];
  figures: Figure[];
}

export interface MemoryCase {
  kind: 'memory';
  id: string;
  label: string;
  members: number;
  /** keys to load */
  keys: number;
  figures: Figure[];
}

export type Case = RequestCase | MemoryCase;

const TPUT: Figure = { key: 'throughput', label: 'req/s', unit: '/s', higherIsBetter: true };
const P50: Figure = { key: 'p50Ms', label: 'p50', unit: 'ms', higherIsBetter: false };
const P99: Figure = { key: 'p99Ms', label: 'p99', unit: 'ms', higherIsBetter: false };

function req(id: string, label: string, members: number, args: string[]): RequestCase {
  return { kind: 'request', id, label, members, args, figures: [TPUT, P50, P99] };
}

/** Figures of the watch cases: delivery rate, put-to-event latency, completeness, server memory. */
const WATCH_FIGURES: Figure[] = [
  { key: 'throughput', label: 'events/s', unit: '/s', higherIsBetter: true },
  { key: 'p50Ms', label: 'put-to-event p50', unit: 'ms', higherIsBetter: false },
  { key: 'p99Ms', label: 'put-to-event p99', unit: 'ms', higherIsBetter: false },
  { key: 'delivered', label: 'delivered', unit: '', higherIsBetter: true },
  { key: 'peakRssMB', label: 'server RSS (peak)', unit: 'MB', higherIsBetter: false },
];

/** 100,000 watchers on keys nobody writes, over 100 streams, open while the case runs. */
const IDLE = ['--idle-watchers', '100000', '--idle-streams', '100'];

function idle(c: RequestCase): RequestCase {
  return { ...c, figures: [...c.figures, { key: 'peakRssMB', label: 'server RSS (peak)', unit: 'MB', higherIsBetter: false }] };
}

export interface SuiteParams {
  durationS: number;
  keySpace: number;
  keys: number;
}

export function standardSuite(p: SuiteParams): Case[] {
  const d = ['--duration', String(p.durationS)];
  const ks = ['--key-space-size', String(p.keySpace)];
  const c1 = ['--clients', '1', '--conns', '1'];
  const c100 = ['--clients', '100', '--conns', '10'];
  return [
    req('put-1', 'put 1/1', 1, ['put', ...c1, ...ks, ...d]),
    req('put-100', 'put 100/10', 1, ['put', ...c100, ...ks, ...d]),
    req('range-l-1', 'range linearizable 1/1', 1, ['range', '--consistency', 'l', ...c1, ...ks, ...d]),
    req('range-s-1', 'range serializable 1/1', 1, ['range', '--consistency', 's', ...c1, ...ks, ...d]),
    req('range-l-100', 'range linearizable 100/10', 1, ['range', '--consistency', 'l', ...c100, ...ks, ...d]),
    req('range-s-100', 'range serializable 100/10', 1, ['range', '--consistency', 's', ...c100, ...ks, ...d]),
    req('txn-put-100', 'txn-put 100/10', 1, ['txn-put', ...c100, ...ks, ...d]),
    {
      kind: 'request', id: 'watch-1000', label: 'watch 1000 watchers, 50 puts/s', members: 1,
      args: ['watch', '--streams', '10', '--watch-per-stream', '100', '--watched-key-total', '1', '--put-rate', '50', ...d],
      figures: WATCH_FIGURES,
    },
    {
      kind: 'request', id: 'watch-100k', label: 'watch 100,000 watchers (100 streams), 1 put/s', members: 1,
      args: ['watch', '--streams', '100', '--watch-per-stream', '1000', '--watched-key-total', '1', '--put-rate', '1', ...d],
      figures: WATCH_FIGURES,
    },
    idle(req('put-1-idle100k', 'put 1/1, 100,000 idle watchers', 1, ['put', ...c1, ...ks, ...d, ...IDLE])),
    idle(req('put-100-idle100k', 'put 100/10, 100,000 idle watchers', 1, ['put', ...c100, ...ks, ...d, ...IDLE])),
    {
      kind: 'memory', id: 'memory', label: `${p.keys.toLocaleString('en-US')} keys: memory, restart`, members: 1, keys: p.keys,
      figures: [
        { key: 'rssMB', label: 'RSS', unit: 'MB', higherIsBetter: false },
        { key: 'dataDirMB', label: 'data dir', unit: 'MB', higherIsBetter: false },
        { key: 'restartS', label: 'restart to first read', unit: 's', higherIsBetter: false },
      ],
    },
    req('put-100-3m', '3 members: put 100/10', 3, ['put', ...c100, ...ks, ...d, '--target-leader']),
    req('range-s-100-3m', '3 members: range serializable 100/10', 3, ['range', '--consistency', 's', ...c100, ...ks, ...d]),
    req('txn-put-100-3m', '3 members: txn-put 100/10', 3, ['txn-put', ...c100, ...ks, ...d, '--target-leader']),
  ];
}

/** A short smoke suite: a few seconds per server, to check the harness. */
export function quickSuite(p: SuiteParams): Case[] {
  const keep = new Set(['put-1', 'put-100', 'range-s-100', 'watch-1000', 'memory']);
  return standardSuite({ ...p, durationS: Math.min(p.durationS, 2), keySpace: Math.min(p.keySpace, 10_000), keys: Math.min(p.keys, 20_000) }).filter((c) => keep.has(c.id));
}
