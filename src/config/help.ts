/**
 * `etcd --help` and `etcd --version` text, generated from the flag table (flags.ts).
 * Layout follows etcd's: a usage block, then flags by group, each as
 * "  --name 'default'" and an indented description.
 */
import { DEFAULT_EMULATED_ETCD_VERSION, envName, FLAGS, type FlagGroup, type FlagSpec } from './flags.js';

/** etcd-ts's own release version (keep in step with package.json). */
export const ETCD_TS_VERSION = '0.1.0';

const kGroupOrder: readonly FlagGroup[] = [
  'Member',
  'Clustering',
  'Security',
  'Auth',
  'Profiling and Monitoring',
  'Logging',
  'Experimental',
  'Unsafe',
  'v2 Proxy (removed upstream in 3.6)',
  'etcd-ts',
];

export const USAGE = `Usage:

  etcd [flags]
    Start an etcd-ts server (a drop-in etcd v3 server).

  etcd --version
    Show the version of etcd-ts and the etcd version it emulates.

  etcd -h | --help
    Show this help.

  etcd --config-file <file>
    Read the configuration from a YAML file whose keys are the flag names below.
    When a configuration file is given, all other command-line flags and ETCD_*
    environment variables are ignored.
`;

/** The full --help text: usage, every flag with its default, and the env/YAML rules. */
export function formatHelp(): string {
  const lines: string[] = [USAGE];
  lines.push(
    'Every flag can also be set by an environment variable: ETCD_ + the flag name in upper case',
    `with "-" as "_" (--initial-cluster-token: ${envName('initial-cluster-token')}), unless given on the command line.`,
    'Flags marked [not yet effective] are accepted for compatibility and ignored (with a warning).',
  );
  for (const group of kGroupOrder) {
    lines.push('', `${group}:`);
    for (const spec of FLAGS) {
      if (spec.group !== group) continue;
      lines.push(`  --${spec.name} ${showDefault(spec)}`);
      const note = spec.effective ? '' : ' [not yet effective]';
      const allowed = spec.type === 'enum' && spec.values !== undefined ? ` One of: ${spec.values.filter((v) => v !== '' && v !== 'capnslog').join(', ')}.` : '';
      lines.push(`    ${spec.description}${allowed}${note}`);
    }
  }
  lines.push('', 'CAUTION: the Unsafe flags can break the guarantees of the consensus protocol.', '');
  return lines.join('\n');
}

function showDefault(spec: FlagSpec): string {
  const d = spec.helpDefault ?? spec.default;
  return `'${d}'`;
}

/**
 * `etcd --version`. The first line keeps etcd's shape ("etcd Version: X.Y.Z") because
 * scripts parse it; it shows the emulated etcd version.
 */
export function formatVersion(emulatedVersion: string = DEFAULT_EMULATED_ETCD_VERSION): string {
  return (
    [
      `etcd Version: ${emulatedVersion}`,
      `etcd-ts Version: ${ETCD_TS_VERSION}`,
      `Node.js Version: ${process.version}`,
      `OS/Arch: ${process.platform}/${process.arch}`,
    ].join('\n') + '\n'
  );
}
