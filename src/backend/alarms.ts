/**
 * Active alarms (etcd's `alarm` bucket), kept in the meta dbi under META_ALARM_PREFIX so they
 * are written in the same transaction as the entry that raised them and survive restarts.
 * The applier is the only writer; readers (Status, /health) list them.
 */
import type { Dbi, ReadOpts } from './backend.js';
import { META_ALARM_PREFIX } from './schema.js';
import { readU64Big, writeU64Big } from '../util/pure/u64be.js';

/** etcdserverpb.AlarmType values. */
export const ALARM_NONE = 0;
export const ALARM_NOSPACE = 1;
export const ALARM_CORRUPT = 2;

export interface AlarmMember {
  readonly memberId: bigint;
  readonly alarm: number;
}

export function alarmKey(a: AlarmMember): Buffer {
  const k = Buffer.alloc(META_ALARM_PREFIX.length + 9);
  META_ALARM_PREFIX.copy(k, 0);
  writeU64Big(k, META_ALARM_PREFIX.length, a.memberId);
  k[META_ALARM_PREFIX.length + 8] = a.alarm;
  return k;
}

/** Every active alarm, in (member, type) order. */
export function listAlarms(meta: Dbi, opts: ReadOpts = {}): AlarmMember[] {
  const end = Buffer.from(META_ALARM_PREFIX);
  end[end.length - 1]! += 1;
  const out: AlarmMember[] = [];
  for (const k of meta.getKeys({ ...opts, start: META_ALARM_PREFIX, end })) {
    const key = k as Buffer;
    if (key.length !== META_ALARM_PREFIX.length + 9) throw new Error(`meta: malformed alarm key ${key.toString('hex')}`);
    out.push({ memberId: readU64Big(key, META_ALARM_PREFIX.length), alarm: key[META_ALARM_PREFIX.length + 8]! });
  }
  return out;
}

/** Writer only, in a write transaction. Returns false when the alarm was already active. */
export function activateAlarm(meta: Dbi, a: AlarmMember): boolean {
  const k = alarmKey(a);
  if (meta.get(k) !== undefined) return false;
  meta.putSync(k, Buffer.alloc(0));
  return true;
}

/** Writer only, in a write transaction. Returns false when the alarm was not active. */
export function deactivateAlarm(meta: Dbi, a: AlarmMember): boolean {
  const k = alarmKey(a);
  if (meta.get(k) === undefined) return false;
  meta.removeSync(k);
  return true;
}

export function alarmName(alarm: number): string {
  return alarm === ALARM_NOSPACE ? 'NOSPACE' : alarm === ALARM_CORRUPT ? 'CORRUPT' : alarm === ALARM_NONE ? 'NONE' : String(alarm);
}
