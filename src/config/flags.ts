/**
 * The one table of etcd-ts server flags. Parsing (flags.ts), ETCD_* environment
 * variables, --config-file YAML keys, defaults, value checks and --help (help.ts) are
 * all driven from it; docs/configuration.md describes the same table.
 *
 * Names, defaults and meanings are etcd 3.5's (a superset of 3.4's, plus the 3.6 ones we
 * need), so an etcd command line, environment or config file works unchanged.
 * Flags we accept but do not act on yet carry `effective: false`: setting one to a
 * non-default value logs a warning at start-up, it never changes behaviour silently.
 */

export type FlagType =
  /** Free text. */
  | 'string'
  /** Go strconv.ParseBool forms; `--flag` alone means true. */
  | 'bool'
  /** Non-negative integer (Go ParseUint base 0: decimal, 0x.., 0o.., 0b.., 0-prefixed octal). */
  | 'uint'
  /** Signed integer, same syntax as uint with an optional sign. */
  | 'int'
  /** Go time.ParseDuration ("100ms", "1h30m", "0"); held as milliseconds. */
  | 'duration'
  /** Comma-separated URL list, etcd's checks (src/util/urls.ts). */
  | 'urls'
  /** One of `values`. */
  | 'enum'
  /** Comma-separated list of words. */
  | 'strings';

export type FlagGroup =
  | 'Member'
  | 'Clustering'
  | 'Security'
  | 'Auth'
  | 'Profiling and Monitoring'
  | 'Logging'
  | 'Experimental'
  | 'Unsafe'
  | 'v2 Proxy (removed upstream in 3.6)'
  | 'etcd-ts'
  | 'Command';

export interface FlagSpec {
  /** Flag name without dashes, etcd's spelling. */
  readonly name: string;
  readonly type: FlagType;
  /** Default as it would be typed on the command line ('' = empty/unset). */
  readonly default: string;
  /** What --help shows as the default when it is computed (e.g. '${name}.etcd'). */
  readonly helpDefault?: string;
  /** One or two sentences, our own words. */
  readonly description: string;
  readonly group: FlagGroup;
  /** Allowed values for 'enum'. */
  readonly values?: readonly string[];
  /** Inclusive bounds for 'uint' / 'int' / 'duration' (milliseconds). */
  readonly min?: number;
  readonly max?: number;
  /** False: accepted for compatibility, not acted on yet (warns when set off-default). */
  readonly effective: boolean;
  /**
   * Config-file key: the flag name unless given; a dotted path for nested etcd keys
   * ("client-transport-security.cert-file"); null when not settable from the file.
   */
  readonly yamlKey?: string | null;
  /** False when no ETCD_* variable maps to the flag (--config-file has one, --help does not). */
  readonly env?: boolean;
  /**
   * etcd 3.6 renamed many --experimental-* flags; the new name carries the old one here.
   * Both are accepted; setting both is an error; the new one is what ServerConfig reads.
   */
  readonly replaces?: string;
}

/** etcd's rule: ETCD_ + upper-case name with "-" as "_" (--initial-cluster-token → ETCD_INITIAL_CLUSTER_TOKEN). */
export function envName(flagName: string): string {
  return `ETCD_${flagName.toUpperCase().replaceAll('-', '_')}`;
}

export function yamlKeyOf(spec: FlagSpec): string | null {
  return spec.yamlKey === undefined ? spec.name : spec.yamlKey;
}

const UINT32_MAX = 4294967295;
/** etcd: an election timeout above 50 s is refused. */
export const MAX_ELECTION_TIMEOUT_MS = 50000;
/** Our default for --emulated-etcd-version: the etcd API level we aim to serve. */
export const DEFAULT_EMULATED_ETCD_VERSION = '3.6.0';

const F = (s: FlagSpec): FlagSpec => s;

export const FLAGS: readonly FlagSpec[] = [
  // --- Member ---------------------------------------------------------------------
  F({ name: 'name', type: 'string', default: 'default', group: 'Member', effective: true,
    description: 'Human-readable name of this member; must appear in --initial-cluster.' }),
  F({ name: 'data-dir', type: 'string', default: '', helpDefault: '${name}.etcd', group: 'Member', effective: true,
    description: 'Directory holding this member\'s data (WAL and key-value store).' }),
  F({ name: 'wal-dir', type: 'string', default: '', group: 'Member', effective: true,
    description: 'Separate directory for the write-ahead log (default: inside --data-dir).' }),
  F({ name: 'snapshot-count', type: 'uint', default: '100000', group: 'Member', effective: true,
    description: 'Committed entries between two Raft snapshots (log compaction points).' }),
  F({ name: 'heartbeat-interval', type: 'uint', default: '100', group: 'Member', effective: true,
    description: 'Leader heartbeat interval, in milliseconds (one Raft tick). With --election-timeout it sets the minimum lease TTL.' }),
  F({ name: 'election-timeout', type: 'uint', default: '1000', group: 'Member', effective: true,
    description: 'Time without a leader heartbeat before a follower starts an election, in milliseconds; at least 5 heartbeats, at most 50000. The minimum lease TTL is 1.5 election timeouts, rounded up to whole seconds.' }),
  F({ name: 'initial-election-tick-advance', type: 'bool', default: 'true', group: 'Member', effective: true,
    description: 'At start, once the other members answer, fast-forward the election clock to two ticks before the timeout, so the first election does not wait a whole timeout.' }),
  F({ name: 'listen-peer-urls', type: 'urls', default: 'http://localhost:2380', group: 'Member', effective: true,
    description: 'Where to listen for other members (comma-separated URLs).' }),
  F({ name: 'listen-client-urls', type: 'urls', default: 'http://localhost:2379', group: 'Member', effective: true,
    description: 'Where to listen for clients: gRPC and HTTP on the same port (comma-separated URLs).' }),
  F({ name: 'listen-client-http-urls', type: 'urls', default: '', group: 'Member', effective: false,
    description: 'Extra listeners serving only the HTTP endpoints; when set, --listen-client-urls serves gRPC only.' }),
  F({ name: 'max-snapshots', type: 'uint', default: '5', group: 'Member', effective: false,
    description: 'Snapshot files to keep (0: keep all). Not yet: etcd-ts writes no .snap files (its LMDB store, with the applied index in it, is the snapshot).' }),
  F({ name: 'max-wals', type: 'uint', default: '5', group: 'Member', effective: false,
    description: 'WAL segment files to keep once they are covered by a snapshot (0: keep all). Not yet: etcd-ts deletes a segment as soon as the store covers it, which stays within any limit; 0 (keep all) is not honoured.' }),
  F({ name: 'quota-backend-bytes', type: 'int', default: '0', min: 0, group: 'Member', effective: true,
    description: 'Size of the key-value store that raises the NOSPACE alarm (0: 2 GiB).' }),
  F({ name: 'backend-bbolt-freelist-type', type: 'enum', values: ['map', 'array'], default: 'map', group: 'Member', effective: false,
    description: 'bbolt free-list layout in etcd; no meaning for our LMDB backend.' }),
  F({ name: 'backend-batch-interval', type: 'duration', default: '0', helpDefault: '', min: 0, group: 'Member', effective: true,
    description: 'Longest time before a backend write transaction is committed (0: 1s; 100ms in etcd). Answers do not wait for it; reads make it commit at once.' }),
  F({ name: 'backend-batch-limit', type: 'uint', default: '0', group: 'Member', effective: true,
    description: 'Most entries before a backend write transaction is committed (0: 10000).' }),
  F({ name: 'max-txn-ops', type: 'uint', default: '128', group: 'Member', effective: true,
    description: 'Most operations allowed in one transaction.' }),
  F({ name: 'max-request-bytes', type: 'uint', default: '1572864', group: 'Member', effective: true,
    description: 'Largest client request accepted, in bytes.' }),
  F({ name: 'max-concurrent-streams', type: 'uint', default: String(UINT32_MAX), helpDefault: 'math.MaxUint32', max: UINT32_MAX, group: 'Member', effective: true,
    description: 'Most concurrent HTTP/2 streams per client connection.' }),
  F({ name: 'enable-grpc-gateway', type: 'bool', default: 'true', group: 'Member', effective: true,
    description: 'Serve the JSON gateway (/v3/...) on the client port.' }),
  F({ name: 'grpc-keepalive-min-time', type: 'duration', default: '5s', min: 0, group: 'Member', effective: false,
    description: 'Shortest interval a client may use between keepalive pings.' }),
  F({ name: 'grpc-keepalive-interval', type: 'duration', default: '2h', min: 0, group: 'Member', effective: false,
    description: 'How often the server pings an idle client connection (0: never).' }),
  F({ name: 'grpc-keepalive-timeout', type: 'duration', default: '20s', min: 0, group: 'Member', effective: false,
    description: 'How long to wait for a ping answer before closing the connection (0: forever).' }),
  F({ name: 'socket-reuse-port', type: 'bool', default: 'false', group: 'Member', effective: false,
    description: 'Set SO_REUSEPORT on listeners.' }),
  F({ name: 'socket-reuse-address', type: 'bool', default: 'false', group: 'Member', effective: false,
    description: 'Set SO_REUSEADDR on listeners.' }),
  F({ name: 'raft-read-timeout', type: 'duration', default: '5s', min: 0, group: 'Member', effective: false,
    description: 'Read timeout on each peer connection.' }),
  F({ name: 'raft-write-timeout', type: 'duration', default: '5s', min: 0, group: 'Member', effective: false,
    description: 'Write timeout on each peer connection.' }),

  // --- Clustering -----------------------------------------------------------------
  F({ name: 'initial-advertise-peer-urls', type: 'urls', default: 'http://localhost:2380', group: 'Clustering', effective: true,
    description: 'Peer URLs of this member as the other members should reach it.' }),
  F({ name: 'initial-cluster', type: 'string', default: 'default=http://localhost:2380', helpDefault: 'default=http://localhost:2380',
    group: 'Clustering', effective: true,
    description: 'Members at bootstrap, "name=peerURL,...". When not set and --name is not "default", it is <name>=<initial-advertise-peer-urls>.' }),
  F({ name: 'initial-cluster-state', type: 'enum', values: ['new', 'existing'], default: 'new', group: 'Clustering', effective: true,
    description: '"new" to bootstrap a cluster, "existing" to join one. Ignored once the data directory is initialised.' }),
  F({ name: 'initial-cluster-token', type: 'string', default: 'etcd-cluster', group: 'Clustering', effective: true,
    description: 'Bootstrap token mixed into the cluster and member IDs, so separate clusters never mistake each other\'s members.' }),
  F({ name: 'advertise-client-urls', type: 'urls', default: 'http://localhost:2379', group: 'Clustering', effective: true,
    description: 'Client URLs of this member as published to the cluster and to clients; required when --listen-client-urls is set.' }),
  F({ name: 'discovery', type: 'string', default: '', group: 'Clustering', effective: false,
    description: 'Discovery service URL for bootstrapping.' }),
  F({ name: 'discovery-fallback', type: 'enum', values: ['exit', 'proxy'], default: 'proxy', group: 'Clustering', effective: false,
    description: 'What to do when the discovery service fails.' }),
  F({ name: 'discovery-proxy', type: 'string', default: '', group: 'Clustering', effective: false,
    description: 'HTTP proxy for reaching the discovery service.' }),
  F({ name: 'discovery-srv', type: 'string', default: '', group: 'Clustering', effective: false,
    description: 'DNS SRV domain for bootstrapping.' }),
  F({ name: 'discovery-srv-name', type: 'string', default: '', group: 'Clustering', effective: false,
    description: 'Suffix of the DNS SRV name looked up for bootstrapping.' }),
  F({ name: 'strict-reconfig-check', type: 'bool', default: 'true', group: 'Clustering', effective: true,
    description: 'Refuse membership changes that would leave the cluster without quorum.' }),
  F({ name: 'pre-vote', type: 'bool', default: 'true', group: 'Clustering', effective: true,
    description: 'Run a Raft pre-vote before a real election, so a rejoining member cannot disrupt a healthy leader.' }),
  F({ name: 'auto-compaction-retention', type: 'string', default: '0', group: 'Clustering', effective: true,
    description: 'How much history automatic compaction keeps (0: no automatic compaction). periodic mode: a duration, or a number of hours; revision mode: a number of revisions.' }),
  F({ name: 'auto-compaction-mode', type: 'enum', values: ['periodic', 'revision'], default: 'periodic', group: 'Clustering', effective: true,
    description: 'How --auto-compaction-retention is read: "periodic" (time) or "revision" (count).' }),
  F({ name: 'enable-v2', type: 'bool', default: 'false', group: 'Clustering', effective: false,
    description: 'Serve the v2 API (removed upstream in 3.6; etcd-ts never serves v2).' }),
  F({ name: 'v2-deprecation', type: 'enum', values: ['not-yet', 'write-only', 'write-only-drop-data', 'gone'], default: 'not-yet',
    group: 'Clustering', effective: false, description: 'Phase of the v2 store deprecation (no v2 store in etcd-ts).' }),

  // --- Security (client TLS is served; peer TLS is checked, for the peer transport to come) ---
  F({ name: 'cert-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'client-transport-security.cert-file',
    description: 'TLS certificate for the client port.' }),
  F({ name: 'key-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'client-transport-security.key-file',
    description: 'TLS private key for the client port.' }),
  F({ name: 'client-cert-auth', type: 'bool', default: 'false', group: 'Security', effective: true, yamlKey: 'client-transport-security.client-cert-auth',
    description: 'Require clients to present a certificate signed by --trusted-ca-file.' }),
  F({ name: 'client-cert-file', type: 'string', default: '', group: 'Security', effective: false, yamlKey: 'client-transport-security.client-cert-file',
    description: 'Certificate this server presents when it is itself a client (defaults to --cert-file).' }),
  F({ name: 'client-key-file', type: 'string', default: '', group: 'Security', effective: false, yamlKey: 'client-transport-security.client-key-file',
    description: 'Key for --client-cert-file.' }),
  F({ name: 'client-crl-file', type: 'string', default: '', group: 'Security', effective: true,
    description: 'Certificate revocation list for client certificates.' }),
  F({ name: 'client-cert-allowed-hostname', type: 'strings', default: '', group: 'Security', effective: true, yamlKey: 'client-transport-security.allowed-hostname',
    description: 'SAN host names a client certificate must carry (comma-separated).' }),
  F({ name: 'trusted-ca-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'client-transport-security.trusted-ca-file',
    description: 'CA bundle that client certificates are checked against.' }),
  F({ name: 'auto-tls', type: 'bool', default: 'false', group: 'Security', effective: true, yamlKey: 'client-transport-security.auto-tls',
    description: 'Serve clients with a generated self-signed certificate.' }),
  F({ name: 'peer-cert-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'peer-transport-security.cert-file',
    description: 'TLS certificate for the peer port.' }),
  F({ name: 'peer-key-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'peer-transport-security.key-file',
    description: 'TLS private key for the peer port.' }),
  F({ name: 'peer-client-cert-auth', type: 'bool', default: 'false', group: 'Security', effective: true, yamlKey: 'peer-transport-security.client-cert-auth',
    description: 'Require peers to present a certificate signed by --peer-trusted-ca-file.' }),
  F({ name: 'peer-trusted-ca-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'peer-transport-security.trusted-ca-file',
    description: 'CA bundle that peer certificates are checked against.' }),
  F({ name: 'peer-cert-allowed-cn', type: 'strings', default: '', group: 'Security', effective: true, yamlKey: 'peer-transport-security.allowed-cn',
    description: 'Common names a peer certificate may carry (comma-separated).' }),
  F({ name: 'peer-cert-allowed-hostname', type: 'strings', default: '', group: 'Security', effective: true, yamlKey: 'peer-transport-security.allowed-hostname',
    description: 'SAN host names a peer certificate may carry (comma-separated).' }),
  F({ name: 'peer-auto-tls', type: 'bool', default: 'false', group: 'Security', effective: true, yamlKey: 'peer-transport-security.auto-tls',
    description: 'Serve peers with a generated self-signed certificate when no peer key and certificate are given.' }),
  F({ name: 'peer-client-cert-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'peer-transport-security.client-cert-file',
    description: 'Certificate presented when dialing peers (defaults to --peer-cert-file).' }),
  F({ name: 'peer-client-key-file', type: 'string', default: '', group: 'Security', effective: true, yamlKey: 'peer-transport-security.client-key-file',
    description: 'Key for --peer-client-cert-file.' }),
  F({ name: 'peer-crl-file', type: 'string', default: '', group: 'Security', effective: true,
    description: 'Certificate revocation list for peer certificates.' }),
  F({ name: 'self-signed-cert-validity', type: 'uint', default: '1', group: 'Security', effective: true,
    description: 'Validity of generated certificates, in years.' }),
  F({ name: 'cipher-suites', type: 'strings', default: '', group: 'Security', effective: true,
    description: 'Allowed TLS cipher suites (comma-separated; empty: the runtime\'s defaults).' }),
  F({ name: 'cors', type: 'strings', default: '*', group: 'Security', effective: false,
    description: 'Origins allowed for cross-origin HTTP requests (comma-separated; "*": all).' }),
  F({ name: 'host-whitelist', type: 'strings', default: '*', group: 'Security', effective: false,
    description: 'Host headers accepted on insecure HTTP requests (comma-separated; "*": all).' }),
  F({ name: 'tls-min-version', type: 'enum', values: ['TLS1.2', 'TLS1.3'], default: 'TLS1.2', group: 'Security', effective: true,
    description: 'Lowest TLS version offered.' }),
  F({ name: 'tls-max-version', type: 'enum', values: ['', 'TLS1.2', 'TLS1.3'], default: '', group: 'Security', effective: true,
    description: 'Highest TLS version offered (empty: the runtime\'s highest).' }),

  // --- Auth -----------------------------------------------------------------------
  F({ name: 'auth-token', type: 'string', default: 'simple', group: 'Auth', effective: true,
    description: 'Auth token kind and options: "simple" (jwt,pub-key=...,priv-key=...,sign-method=...: not yet; refused at start).' }),
  F({ name: 'bcrypt-cost', type: 'uint', default: '10', min: 4, max: 31, group: 'Auth', effective: true,
    description: 'bcrypt cost for stored password hashes (4 to 31).' }),
  F({ name: 'auth-token-ttl', type: 'uint', default: '300', group: 'Auth', effective: true,
    description: 'Lifetime of a simple auth token, in seconds.' }),

  // --- Profiling and Monitoring ---------------------------------------------------
  F({ name: 'enable-pprof', type: 'bool', default: 'false', group: 'Profiling and Monitoring', effective: false,
    description: 'Serve profiling endpoints under /debug/pprof/ on the client port.' }),
  F({ name: 'metrics', type: 'enum', values: ['basic', 'extensive'], default: 'basic', group: 'Profiling and Monitoring', effective: false,
    description: 'Metrics detail: "extensive" adds per-method gRPC latency histograms.' }),
  F({ name: 'listen-metrics-urls', type: 'urls', default: '', group: 'Profiling and Monitoring', effective: true,
    description: 'Extra listeners serving only /metrics and /health (comma-separated URLs).' }),

  // --- Logging --------------------------------------------------------------------
  F({ name: 'logger', type: 'enum', values: ['zap', 'capnslog'], default: 'zap', group: 'Logging', effective: true,
    description: 'Logger implementation: structured JSON lines ("capnslog" was removed in etcd 3.5).' }),
  F({ name: 'log-outputs', type: 'strings', default: 'default', group: 'Logging', effective: true,
    description: 'Where logs go (comma-separated): "default" or "stderr", "stdout", or file paths.' }),
  F({ name: 'log-level', type: 'enum', values: ['debug', 'info', 'warn', 'error', 'panic', 'fatal'], default: 'info', group: 'Logging', effective: true,
    description: 'Lowest level written.' }),
  F({ name: 'log-format', type: 'enum', values: ['json', 'console'], default: 'json', group: 'Logging', effective: false,
    description: 'Log line format; only "json" is implemented.' }),
  F({ name: 'enable-log-rotation', type: 'bool', default: 'false', group: 'Logging', effective: false,
    description: 'Rotate the log file given as the single --log-outputs target.' }),
  F({ name: 'log-rotation-config-json', type: 'string', default: '{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}',
    group: 'Logging', effective: false, description: 'Rotation settings as JSON (size in MB, age in days, backups).' }),

  // --- Experimental ---------------------------------------------------------------
  F({ name: 'experimental-initial-corrupt-check', type: 'bool', default: 'false', group: 'Experimental', effective: true,
    description: 'On a restart, compare HashKV with every other member at this member\'s revision before serving; refuse to start on a mismatch.' }),
  F({ name: 'experimental-corrupt-check-time', type: 'duration', default: '0s', min: 0, group: 'Experimental', effective: true,
    description: 'Interval between the leader\'s HashKV comparisons with every member; a mismatch raises the CORRUPT alarm (0: off).' }),
  F({ name: 'experimental-compact-hash-check-enabled', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    description: 'Let the leader compare compaction hashes with followers.' }),
  F({ name: 'experimental-compact-hash-check-time', type: 'duration', default: '1m', min: 0, group: 'Experimental', effective: false,
    description: 'Interval between compaction hash checks.' }),
  F({ name: 'experimental-enable-lease-checkpoint', type: 'bool', default: 'false', group: 'Experimental', effective: true,
    description: 'Have the leader checkpoint remaining lease TTLs through Raft (every 5 minutes; stored, so a restart resumes from them).' }),
  F({ name: 'experimental-enable-lease-checkpoint-persist', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    description: 'Persist checkpointed lease TTLs (needs --experimental-enable-lease-checkpoint).' }),
  F({ name: 'experimental-compaction-batch-limit', type: 'uint', default: '1000', group: 'Experimental', effective: false,
    description: 'Most revisions removed per compaction slice.' }),
  F({ name: 'experimental-compaction-sleep-interval', type: 'duration', default: '10ms', min: 0, group: 'Experimental', effective: false,
    description: 'Pause between compaction slices.' }),
  F({ name: 'experimental-watch-progress-notify-interval', type: 'duration', default: '10m', min: 0, group: 'Experimental', effective: true,
    description: 'Interval of progress notifications sent to watchers that asked for them.' }),
  F({ name: 'experimental-warning-apply-duration', type: 'duration', default: '100ms', min: 0, group: 'Experimental', effective: false,
    description: 'Apply time above which a request is logged as slow.' }),
  F({ name: 'experimental-txn-mode-write-with-shared-buffer', type: 'bool', default: 'true', group: 'Experimental', effective: false,
    description: 'bbolt read-buffer sharing for write transactions (no meaning with LMDB).' }),
  F({ name: 'experimental-bootstrap-defrag-threshold-megabytes', type: 'uint', default: '0', group: 'Experimental', effective: false,
    description: 'Defragment at start when at least this much space would be freed (LMDB reuses pages instead).' }),
  F({ name: 'experimental-max-learners', type: 'uint', default: '1', group: 'Experimental', effective: false,
    description: 'Most learner members allowed.' }),
  F({ name: 'experimental-snapshot-catchup-entries', type: 'uint', default: '5000', min: 1, group: 'Experimental', effective: true,
    description: 'Entries kept after a snapshot for slow followers to catch up from.' }),
  F({ name: 'experimental-memory-mlock', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    description: 'Lock the store\'s pages in RAM.' }),
  F({ name: 'experimental-stop-grpc-service-on-defrag', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    description: 'Report NOT_SERVING on the gRPC health service while defragmenting.' }),
  F({ name: 'experimental-downgrade-check-time', type: 'duration', default: '5s', min: 0, group: 'Experimental', effective: false,
    description: 'Interval between downgrade status checks.' }),
  F({ name: 'experimental-peer-skip-client-san-verification', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    description: 'Do not check the SAN of peer client certificates.' }),
  F({ name: 'experimental-enable-distributed-tracing', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    description: 'Export OpenTelemetry traces.' }),

  // --- etcd 3.6 names of 3.5's --experimental-* flags ----------------------------------
  F({ name: 'watch-progress-notify-interval', type: 'duration', default: '10m', min: 0, group: 'Experimental', effective: true,
    replaces: 'experimental-watch-progress-notify-interval', description: 'etcd 3.6 name of --experimental-watch-progress-notify-interval.' }),
  F({ name: 'compaction-batch-limit', type: 'uint', default: '1000', group: 'Experimental', effective: false,
    replaces: 'experimental-compaction-batch-limit', description: 'etcd 3.6 name of --experimental-compaction-batch-limit.' }),
  F({ name: 'compaction-sleep-interval', type: 'duration', default: '10ms', min: 0, group: 'Experimental', effective: false,
    replaces: 'experimental-compaction-sleep-interval', description: 'etcd 3.6 name of --experimental-compaction-sleep-interval.' }),
  F({ name: 'warning-apply-duration', type: 'duration', default: '100ms', min: 0, group: 'Experimental', effective: false,
    replaces: 'experimental-warning-apply-duration', description: 'etcd 3.6 name of --experimental-warning-apply-duration.' }),
  F({ name: 'snapshot-catchup-entries', type: 'uint', default: '5000', min: 1, group: 'Experimental', effective: true,
    replaces: 'experimental-snapshot-catchup-entries', description: 'etcd 3.6 name of --experimental-snapshot-catchup-entries.' }),
  F({ name: 'corrupt-check-time', type: 'duration', default: '0s', min: 0, group: 'Experimental', effective: true,
    replaces: 'experimental-corrupt-check-time', description: 'etcd 3.6 name of --experimental-corrupt-check-time.' }),
  F({ name: 'compact-hash-check-time', type: 'duration', default: '1m', min: 0, group: 'Experimental', effective: false,
    replaces: 'experimental-compact-hash-check-time', description: 'etcd 3.6 name of --experimental-compact-hash-check-time.' }),
  F({ name: 'max-learners', type: 'uint', default: '1', group: 'Experimental', effective: false,
    replaces: 'experimental-max-learners', description: 'etcd 3.6 name of --experimental-max-learners.' }),
  F({ name: 'memory-mlock', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    replaces: 'experimental-memory-mlock', description: 'etcd 3.6 name of --experimental-memory-mlock.' }),
  F({ name: 'bootstrap-defrag-threshold-megabytes', type: 'uint', default: '0', group: 'Experimental', effective: false,
    replaces: 'experimental-bootstrap-defrag-threshold-megabytes', description: 'etcd 3.6 name of --experimental-bootstrap-defrag-threshold-megabytes.' }),
  F({ name: 'downgrade-check-time', type: 'duration', default: '5s', min: 0, group: 'Experimental', effective: false,
    replaces: 'experimental-downgrade-check-time', description: 'etcd 3.6 name of --experimental-downgrade-check-time.' }),
  F({ name: 'peer-skip-client-san-verification', type: 'bool', default: 'false', group: 'Experimental', effective: false,
    replaces: 'experimental-peer-skip-client-san-verification', description: 'etcd 3.6 name of --experimental-peer-skip-client-san-verification.' }),
  F({ name: 'feature-gates', type: 'string', default: '', group: 'Experimental', effective: false,
    description: 'etcd 3.6 feature gates, "Name=true|false,..." (e.g. InitialCorruptCheck=true,CompactHashCheck=true).' }),

  // --- Unsafe ---------------------------------------------------------------------
  F({ name: 'force-new-cluster', type: 'bool', default: 'false', group: 'Unsafe', effective: false,
    description: 'Restart as a one-member cluster, discarding the recorded membership. Breaks consensus guarantees.' }),
  F({ name: 'unsafe-no-fsync', type: 'bool', default: 'false', group: 'Unsafe', effective: false,
    description: 'Never fsync the WAL. Acknowledged writes can be lost on power failure.' }),

  // --- v2 proxy -------------------------------------------------------------------
  F({ name: 'proxy', type: 'enum', values: ['off', 'readonly', 'on'], default: 'off', group: 'v2 Proxy (removed upstream in 3.6)', effective: false,
    description: 'v2 proxy mode; only "off" is meaningful here.' }),
  F({ name: 'proxy-failure-wait', type: 'uint', default: '5000', group: 'v2 Proxy (removed upstream in 3.6)', effective: false,
    description: 'Milliseconds an endpoint stays marked failed.' }),
  F({ name: 'proxy-refresh-interval', type: 'uint', default: '30000', group: 'v2 Proxy (removed upstream in 3.6)', effective: false,
    description: 'Milliseconds between endpoint refreshes.' }),
  F({ name: 'proxy-dial-timeout', type: 'uint', default: '1000', group: 'v2 Proxy (removed upstream in 3.6)', effective: false,
    description: 'Dial timeout in milliseconds (0: none).' }),
  F({ name: 'proxy-write-timeout', type: 'uint', default: '5000', group: 'v2 Proxy (removed upstream in 3.6)', effective: false,
    description: 'Write timeout in milliseconds (0: none).' }),
  F({ name: 'proxy-read-timeout', type: 'uint', default: '0', group: 'v2 Proxy (removed upstream in 3.6)', effective: false,
    description: 'Read timeout in milliseconds (0: none).' }),

  // --- etcd-ts's own ----------------------------------------------------------------
  F({ name: 'emulated-etcd-version', type: 'string', default: DEFAULT_EMULATED_ETCD_VERSION, group: 'etcd-ts', effective: true,
    description: 'etcd version reported by Status, /version and --version (clients switch features on it), "X.Y.Z".' }),
  F({ name: 'wal-batch-max-bytes', type: 'uint', default: '1048576', min: 1, group: 'etcd-ts', effective: true,
    description: 'Group commit: most bytes of WAL records written before one fdatasync.' }),
  F({ name: 'wal-batch-max-delay-ms', type: 'uint', default: '0', max: 1000, group: 'etcd-ts', effective: true,
    description: 'Group commit: how long the WAL writer may wait for more records before syncing (0: sync as soon as the previous sync ends).' }),

  // --- Command ----------------------------------------------------------------------
  F({ name: 'config-file', type: 'string', default: '', group: 'Command', effective: true, yamlKey: null,
    description: 'YAML configuration file. When given, all other flags and ETCD_* variables are ignored.' }),
  F({ name: 'version', type: 'bool', default: 'false', group: 'Command', effective: true, yamlKey: null, env: false,
    description: 'Print the version and exit.' }),
  F({ name: 'help', type: 'bool', default: 'false', group: 'Command', effective: true, yamlKey: null, env: false,
    description: 'Print this help and exit (also -h).' }),
];

const kByName: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((f) => [f.name, f]));
const kByYamlKey: ReadonlyMap<string, FlagSpec> = new Map(
  FLAGS.filter((f) => yamlKeyOf(f) !== null).map((f) => [yamlKeyOf(f) as string, f]),
);
const kByEnv: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.filter((f) => f.env !== false).map((f) => [envName(f.name), f]));

export function flagByName(name: string): FlagSpec | undefined {
  return kByName.get(name === 'h' ? 'help' : name);
}

export function flagByYamlKey(key: string): FlagSpec | undefined {
  return kByYamlKey.get(key);
}

export function flagByEnv(key: string): FlagSpec | undefined {
  return kByEnv.get(key);
}
