/** Every command, by path. */
import type { CommandSpec } from '../command.js';
import { compactionCommand } from './compaction.js';
import { delCommand } from './del.js';
import { endpointHealthCommand } from './endpoint-health.js';
import { endpointStatusCommand } from './endpoint-status.js';
import { getCommand } from './get.js';
import { leaseGrantCommand } from './lease-grant.js';
import { leaseKeepAliveCommand } from './lease-keep-alive.js';
import { leaseListCommand } from './lease-list.js';
import { leaseRevokeCommand } from './lease-revoke.js';
import { leaseTimeToLiveCommand } from './lease-timetolive.js';
import { memberListCommand } from './member-list.js';
import { putCommand } from './put.js';
import { txnCommand } from './txn.js';
import { versionCommand } from './version.js';
import { watchCommand } from './watch.js';

export const COMMANDS: readonly CommandSpec[] = [
  compactionCommand,
  delCommand,
  endpointHealthCommand,
  endpointStatusCommand,
  getCommand,
  leaseGrantCommand,
  leaseKeepAliveCommand,
  leaseListCommand,
  leaseRevokeCommand,
  leaseTimeToLiveCommand,
  memberListCommand,
  putCommand,
  txnCommand,
  versionCommand,
  watchCommand,
];

/** Parent commands (no action of their own). */
export const GROUPS: Readonly<Record<string, string>> = {
  endpoint: 'Endpoint related commands',
  lease: 'Lease related commands',
  member: 'Membership related commands',
};

/**
 * The names of etcdctl 3.4's top-level commands (for "Did you mean this?" suggestions,
 * including the ones this etcdctl does not implement yet).
 */
export const ETCDCTL_TOP_LEVEL = [
  'alarm', 'auth', 'check', 'compaction', 'defrag', 'del', 'elect', 'endpoint', 'get', 'help', 'lease', 'lock',
  'make-mirror', 'member', 'migrate', 'move-leader', 'put', 'role', 'snapshot', 'txn', 'user', 'version', 'watch',
] as const;

/** etcdctl 3.4's commands this etcdctl does not have yet: answered with a clear error, not a usage text. */
export const NOT_IMPLEMENTED: readonly string[] = [
  'alarm', 'alarm disarm', 'alarm list', 'auth', 'auth enable', 'auth disable', 'check', 'check perf', 'check datascale',
  'defrag', 'elect', 'endpoint hashkv', 'lock', 'make-mirror', 'member add', 'member remove', 'member update',
  'member promote', 'migrate', 'move-leader', 'role', 'role add', 'role delete', 'role get', 'role list',
  'role grant-permission', 'role revoke-permission', 'snapshot', 'snapshot save', 'snapshot restore', 'snapshot status',
  'user', 'user add', 'user delete', 'user get', 'user list', 'user passwd', 'user grant-role', 'user revoke-role',
];
