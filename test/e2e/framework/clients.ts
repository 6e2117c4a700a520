/**
 * Ways in: the clients a test body can be run through (style rule 14: one test body against
 * every way in).
 *
 *   - `etcd3`      : the etcd3 npm client (kv-etcd3.ts);
 *   - `gateway`    : the HTTP/JSON gateway on the client port (kv-gateway.ts);
 *   - `etcdctl`    : the real etcdctl 3.4 through -w json (kv-etcdctl.ts, etcdctl.ts);
 *   - `our-etcdctl`: the project's bin/etcdctl, once built (dist/src/cli/etcdctl/main.js).
 *
 * `kvClientUnavailableReason()` says which are usable here; ETCD_TEST_CLIENTS=etcd3,etcdctl narrows it.
 */
import { etcdctlUnavailableReason, type EtcdctlKind } from './etcdctl.js';
import type { KvClient } from './kv-client.js';
import { Etcd3KvClient } from './kv-etcd3.js';
import { EtcdctlKvClient } from './kv-etcdctl.js';
import { GatewayKvClient } from './kv-gateway.js';

export * from './etcdctl.js';
export * from './kv-client.js';
export { Etcd3KvClient } from './kv-etcd3.js';
export { EtcdctlKvClient } from './kv-etcdctl.js';
export { GatewayKvClient } from './kv-gateway.js';

export type KvClientName = 'etcd3' | 'gateway' | EtcdctlKind;
export const ALL_KV_CLIENTS: readonly KvClientName[] = ['etcd3', 'gateway', 'etcdctl', 'our-etcdctl'];

/** Why a client cannot be used here, or undefined. */
export function kvClientUnavailableReason(name: KvClientName): string | undefined {
  const only = process.env['ETCD_TEST_CLIENTS'];
  if (only !== undefined && only !== '' && !only.split(',').map((s) => s.trim()).includes(name)) {
    return `not in ETCD_TEST_CLIENTS=${only}`;
  }
  if (name === 'etcd3' || name === 'gateway') return undefined;
  return etcdctlUnavailableReason(name);
}

export function makeKvClient(name: KvClientName, endpoints: string[]): KvClient {
  if (name === 'etcd3') return new Etcd3KvClient(endpoints);
  if (name === 'gateway') return new GatewayKvClient(endpoints[0]!);
  return new EtcdctlKvClient(name, endpoints);
}

