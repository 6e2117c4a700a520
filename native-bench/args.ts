/**
 * Flags of `npm run bench:native`. Pure, unit-tested.
 *
 *   --suite standard|quick      which cases (suite.ts); default standard
 *   --rounds N                  A B A B rounds (>= 1; 3 or more for medians); default 3
 *   --servers etcd,etcd-ts      which servers, in alternation order
 *   --duration S                seconds per throughput case; default 5
 *   --keys N                    keys loaded for the memory / restart case; default 1000000
 *   --key-space N               key space of the request cases; default 100000
 *   --etcd-bin PATH             the real etcd; default /usr/bin/etcd
 *   --etcd-ts-bin PATH          etcd-ts entry; default bin/etcd (run with node)
 *   --out DIR                   results directory; default native-bench/results
 *   --only id,id                run only these case ids
 *   --validate                  instead of the suite: check the generator against the etcd3 client
 *   --no-docs                   do not rewrite docs/benchmarks.md
 */
export const SERVER_KINDS = ['etcd', 'etcd-ts'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export interface NativeOptions {
  suite: 'standard' | 'quick';
  rounds: number;
  servers: ServerKind[];
  durationS: number;
  keys: number;
  keySpace: number;
  etcdBin: string;
  etcdTsBin: string;
  out: string;
  only: string[];
  validate: boolean;
  docs: boolean;
}

export const NATIVE_DEFAULTS: NativeOptions = {
  suite: 'standard',
  rounds: 3,
  servers: ['etcd', 'etcd-ts'],
  durationS: 5,
  keys: 1_000_000,
  keySpace: 100_000,
  etcdBin: '/usr/bin/etcd',
  etcdTsBin: 'bin/etcd',
  out: 'native-bench/results',
  only: [],
  validate: false,
  docs: true,
};

export class NativeArgError extends Error {}

function posInt(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) throw new NativeArgError(`--${name} needs a positive integer, got ${v}`);
  return n;
}

export function parseNativeArgs(argv: readonly string[]): NativeOptions {
  const o: NativeOptions = { ...NATIVE_DEFAULTS, servers: [...NATIVE_DEFAULTS.servers], only: [] };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const val = (): string | undefined => v ?? argv[++i];
    switch (a) {
      case '--suite': {
        const s = val();
        if (s !== 'standard' && s !== 'quick') throw new NativeArgError(`--suite is standard or quick, got ${s}`);
        o.suite = s;
        break;
      }
      case '--rounds': o.rounds = posInt('rounds', val()); break;
      case '--duration': o.durationS = posInt('duration', val()); break;
      case '--keys': o.keys = posInt('keys', val()); break;
      case '--key-space': o.keySpace = posInt('key-space', val()); break;
      case '--etcd-bin': o.etcdBin = val() ?? ''; break;
      case '--etcd-ts-bin': o.etcdTsBin = val() ?? ''; break;
      case '--out': o.out = val() ?? ''; break;
      case '--only': o.only = (val() ?? '').split(',').filter(Boolean); break;
      case '--servers': {
        const list = (val() ?? '').split(',').filter(Boolean);
        for (const s of list) if (!SERVER_KINDS.includes(s as ServerKind)) throw new NativeArgError(`unknown server ${s}`);
        if (list.length === 0) throw new NativeArgError('--servers is empty');
        o.servers = list as ServerKind[];
        break;
      }
      case '--validate': o.validate = true; break;
      case '--no-docs': o.docs = false; break;
      default:
        throw new NativeArgError(`unknown flag ${a}`);
    }
  }
  return o;
}
