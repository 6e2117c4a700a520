/** Every command, by path. */
import type { CommandSpec } from '../command.js';
import { authDisableCommand, authEnableCommand } from './auth.js';
import {
  roleAddCommand, roleDeleteCommand, roleGetCommand, roleGrantPermissionCommand, roleListCommand, roleRevokePermissionCommand,
} from './role.js';
import {
  userAddCommand, userDeleteCommand, userGetCommand, userGrantRoleCommand, userListCommand, userPasswdCommand, userRevokeRoleCommand,
} from './user.js';
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
  authDisableCommand,
  authEnableCommand,
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
  roleAddCommand,
  roleDeleteCommand,
  roleGetCommand,
  roleGrantPermissionCommand,
  roleListCommand,
  roleRevokePermissionCommand,
  txnCommand,
  userAddCommand,
  userDeleteCommand,
  userGetCommand,
  userGrantRoleCommand,
  userListCommand,
  userPasswdCommand,
  userRevokeRoleCommand,
  versionCommand,
  watchCommand,
];

/** Parent commands (no action of their own). */
export const GROUPS: Readonly<Record<string, string>> = {
  endpoint: 'Endpoint related commands',
  auth: 'Enable or disable authentication',
  lease: 'Lease related commands',
  member: 'Membership related commands',
  role: 'Role related commands',
  user: 'User related commands',
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
  'alarm', 'alarm disarm', 'alarm list', 'check', 'check perf', 'check datascale',
  'defrag', 'elect', 'endpoint hashkv', 'lock', 'make-mirror', 'member add', 'member remove', 'member update',
  'member promote', 'migrate', 'move-leader', 'snapshot', 'snapshot save', 'snapshot restore', 'snapshot status',
];
