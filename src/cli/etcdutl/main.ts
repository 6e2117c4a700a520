/**
 * bin/etcdutl: the offline data tool, etcd's commands and flags:
 *   etcdutl snapshot status <file> [-w simple|table|json]
 *   etcdutl snapshot restore <file> [--data-dir] [--wal-dir] [--name] [--initial-cluster]
 *            [--initial-cluster-token] [--initial-advertise-peer-urls] [--skip-hash-check]
 *   etcdutl import --etcd-data-dir <stopped etcd data dir> --data-dir <new dir> [restore flags]
 *   etcdutl defrag --data-dir <dir>
 *   etcdutl hashkv <db file | data dir> [--rev R] [-w simple|table|json]
 *   etcdutl version
 * Errors go to stderr as "Error: <what>" with exit code 1 (a usage error: exit code 2).
 */
import { run } from './etcdutl.js';

const code = await run(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
});
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
