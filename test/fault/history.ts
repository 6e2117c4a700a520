/**
 * A history of puts (each to a unique key) and the checks run on it after faults:
 * acknowledged puts are durable at their revision, revisions respect real-time order,
 * unacknowledged puts are absent or intact. Shared by the kill -9 tests.
 */
import assert from 'node:assert/strict';

export interface PutRecord {
  key: string;
  value: string;
  writer: string;
  /** Logical clock (a counter shared by all writers) when the put was sent. */
  sentAt: number;
  /** Logical clock when the ack arrived; undefined if never acknowledged. */
  ackedAt?: number;
  revision?: number;
}

/** A logical clock shared by the writers of one history (no wall-clock time involved). */
export class LogicalClock {
  private now = 0;
  tick(): number {
    return ++this.now;
  }
}

export interface StoredKv {
  value: string;
  modRevision: number;
}

/**
 * `stored` is what a member holds under the history's key range. Every acknowledged put must be
 * there with its value at its acknowledged revision; an unacknowledged one is absent or intact;
 * nothing else is there.
 */
export function checkDurable(what: string, all: readonly PutRecord[], stored: ReadonlyMap<string, StoredKv>): void {
  for (const p of all) {
    const s = stored.get(p.key);
    if (p.ackedAt !== undefined) {
      assert.ok(s !== undefined, `${what}: acknowledged put ${p.key} (rev ${p.revision}) is lost`);
      assert.equal(s.value, p.value, `${what}: ${p.key} has the wrong value`);
      assert.equal(s.modRevision, p.revision, `${what}: ${p.key} acknowledged at ${p.revision} but stored at ${s.modRevision}`);
    } else if (s !== undefined) {
      assert.equal(s.value, p.value, `${what}: unacknowledged ${p.key} present with a wrong value`);
    }
  }
  const written = new Set(all.map((p) => p.key));
  for (const k of stored.keys()) assert.ok(written.has(k), `${what}: unexpected key ${k}`);
}

/**
 * Real-time order: if A was acknowledged before B was sent, rev(A) < rev(B); one writer's
 * acknowledged revisions strictly increase.
 */
export function checkRealTimeOrder(what: string, records: readonly PutRecord[]): void {
  const acked = records.filter((p) => p.ackedAt !== undefined).sort((a, b) => a.sentAt - b.sentAt);
  const byAck = [...acked].sort((a, b) => a.ackedAt! - b.ackedAt!);
  let i = 0;
  let maxRevAckedBefore = 0;
  let witness: PutRecord | undefined;
  for (const b of acked) {
    while (i < byAck.length && byAck[i]!.ackedAt! < b.sentAt) {
      if (byAck[i]!.revision! > maxRevAckedBefore) {
        maxRevAckedBefore = byAck[i]!.revision!;
        witness = byAck[i];
      }
      i++;
    }
    assert.ok(
      b.revision! > maxRevAckedBefore,
      `${what}: ${b.key} got revision ${b.revision} though ${witness?.key} was acknowledged at ${maxRevAckedBefore} before it was sent`,
    );
  }
  const perWriter = new Map<string, number>();
  for (const p of acked) {
    const last = perWriter.get(p.writer) ?? 0;
    assert.ok(p.revision! > last, `${what}: writer ${p.writer} went back from ${last} to ${p.revision}`);
    perWriter.set(p.writer, p.revision!);
  }
}
