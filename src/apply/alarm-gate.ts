/**
 * Alarms in the applier: the Alarm request (GET / ACTIVATE / DEACTIVATE, etcd's
 * applierV3backend.Alarm) and the requests an active alarm refuses, as etcd's decorators do:
 *   NOSPACE (applierV3Capped): a Put, a Txn that may write (any put in either branch, nested
 *     txns included), a LeaseGrant -> ETCD_ERR_MVCC_NO_SPACE; reads, deletes, revokes and compaction pass;
 *   CORRUPT (applierV3Corrupt): Range, Put, DeleteRange, Txn, Compaction, LeaseGrant, LeaseRevoke
 *     -> ETCD_ERR_SERVER_CORRUPT.
 * The state lives in the meta dbi (src/backend/alarms.ts), written in the entry's transaction;
 * this class keeps a copy that `reload()` refreshes after an aborted transaction.
 */
import { EtcdError } from '../errors/errors.js';
import type { etcdserverpb } from '../proto/pb.js';
import type { Dbi } from '../backend/backend.js';
import { ALARM_CORRUPT, ALARM_NONE, ALARM_NOSPACE, activateAlarm, deactivateAlarm, listAlarms, type AlarmMember } from '../backend/alarms.js';

const GET = 0;
const ACTIVATE = 1;
const DEACTIVATE = 2;

export class AlarmGate {
  #active: AlarmMember[];

  constructor(private readonly meta: Dbi) {
    this.#active = listAlarms(meta);
  }

  get active(): readonly AlarmMember[] {
    return this.#active;
  }

  reload(): void {
    this.#active = listAlarms(this.meta);
  }

  #has(alarm: number): boolean {
    return this.#active.some((a) => a.alarm === alarm);
  }

  /** Throws the error an active alarm answers this request with. */
  check(req: etcdserverpb.IInternalRaftRequest): void {
    if (this.#active.length === 0) return;
    if (this.#has(ALARM_CORRUPT) && (req.range || req.put || req.deleteRange || req.txn || req.compaction || req.leaseGrant || req.leaseRevoke)) {
      throw new EtcdError('ETCD_ERR_SERVER_CORRUPT');
    }
    if (this.#has(ALARM_NOSPACE) && (req.put || req.leaseGrant || (req.txn && txnMayWrite(req.txn)))) {
      throw new EtcdError('ETCD_ERR_MVCC_NO_SPACE');
    }
  }

  /** Applies an AlarmRequest (writer, inside the entry's transaction). */
  apply(r: etcdserverpb.IAlarmRequest): { response: etcdserverpb.IAlarmResponse; changed: boolean } {
    const action = r.action ?? GET;
    const alarm = r.alarm ?? ALARM_NONE;
    const m: AlarmMember = { memberId: r.memberID ?? 0n, alarm };
    const member = (a: AlarmMember): etcdserverpb.IAlarmMember => ({ memberID: a.memberId, alarm: a.alarm });
    if (action === GET) {
      return { response: { alarms: this.#active.filter((a) => alarm === ALARM_NONE || a.alarm === alarm).map(member) }, changed: false };
    }
    if (action === ACTIVATE) {
      if (alarm === ALARM_NONE || !activateAlarm(this.meta, m)) return { response: { alarms: [] }, changed: false };
      this.#active = listAlarms(this.meta);
      return { response: { alarms: [member(m)] }, changed: true };
    }
    if (action === DEACTIVATE) {
      if (!deactivateAlarm(this.meta, m)) return { response: { alarms: [] }, changed: false };
      this.#active = listAlarms(this.meta);
      return { response: { alarms: [member(m)] }, changed: true };
    }
    return { response: { alarms: [] }, changed: false };
  }
}

/** etcd's quota cost > 0: a put anywhere in either branch. */
export function txnMayWrite(t: etcdserverpb.ITxnRequest): boolean {
  const ops = [...(t.success ?? []), ...(t.failure ?? [])];
  return ops.some((op) => op.requestPut != null || (op.requestTxn != null && txnMayWrite(op.requestTxn)));
}

export { ALARM_NOSPACE, ALARM_CORRUPT };
