/**
 * This member's NOSPACE alarm: raised through the log when a write would take the store past
 * --quota-backend-bytes (etcd's quotaAlarmer), and, beyond etcd, cleared through the log once the
 * bytes in use are back under the quota (etcd keeps refusing writes until an operator runs
 * `etcdctl alarm disarm`, etcd issue #20753). LMDB reuses freed pages as it goes, so deletes and
 * compaction alone bring the bytes in use down; no defragmentation is needed.
 *
 * While the alarm is active the member checks every CHECK_INTERVAL_MS; it clears the alarm when
 * the bytes in use are below CLEAR_RATIO x quota, so a store hovering at the quota does not flap.
 */
import type { etcdserverpb } from '../proto/pb.js';

/** How often an active NOSPACE alarm checks whether the store is back under its quota. */
export const CHECK_INTERVAL_MS = 1000;
/** The alarm clears below this share of the quota (hysteresis: etcd has none, it never clears). */
export const CLEAR_RATIO = 0.95;

const NOSPACE = 1;
const ACTIVATE = 1;
const DEACTIVATE = 2;

export interface SpaceAlarmOptions {
  readonly memberId: bigint;
  quotaBytes(): number;
  inUseBytes(): number;
  alarms(): readonly { readonly memberId: bigint; readonly alarm: number }[];
  /** Proposes an AlarmRequest through the log; resolves once applied. */
  propose(req: etcdserverpb.IAlarmRequest): Promise<void>;
  log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void;
}

export class SpaceAlarm {
  readonly #o: SpaceAlarmOptions;
  #timer: NodeJS.Timeout | undefined;
  /** An ACTIVATE or DEACTIVATE of ours is in the log and not applied yet. */
  #inFlight = false;
  #stopped = false;

  constructor(o: SpaceAlarmOptions) {
    this.#o = o;
  }

  #active(): boolean {
    return this.#o.alarms().some((a) => a.alarm === NOSPACE && a.memberId === this.#o.memberId);
  }

  /** A write was refused for space: raise the alarm unless it is up or on its way. */
  raise(): void {
    if (this.#stopped || this.#inFlight || this.#active()) return;
    this.#inFlight = true;
    this.#o.log('warn', 'alarm raised', { alarm: 'NOSPACE', 'quota-size-bytes': this.#o.quotaBytes(), 'in-use-bytes': this.#o.inUseBytes() });
    this.#send({ action: ACTIVATE, memberID: this.#o.memberId, alarm: NOSPACE });
  }

  /** The alarms changed (or a defragment ran): start or stop watching for recovery. */
  update(): void {
    if (this.#stopped) return;
    if (this.#active()) {
      this.#timer ??= setInterval(() => this.#check(), CHECK_INTERVAL_MS);
      this.#timer.unref();
      this.#check();
    } else if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    if (this.#stopped || this.#inFlight || !this.#active()) return;
    const quota = this.#o.quotaBytes();
    const inUse = this.#o.inUseBytes();
    if (inUse >= quota * CLEAR_RATIO) return;
    this.#inFlight = true;
    this.#o.log('info', 'clearing NOSPACE alarm: the store is back under its quota', { 'quota-size-bytes': quota, 'in-use-bytes': inUse });
    this.#send({ action: DEACTIVATE, memberID: this.#o.memberId, alarm: NOSPACE });
  }

  #send(req: etcdserverpb.IAlarmRequest): void {
    this.#o.propose(req).then(
      () => { this.#inFlight = false; },
      (err: unknown) => {
        this.#inFlight = false;
        if (!this.#stopped) this.#o.log('warn', 'alarm request failed', { error: err instanceof Error ? err.message : String(err) });
      },
    );
  }
}
