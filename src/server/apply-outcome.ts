/** Turns the applier's results into what crosses back to the main thread. */
import { mvccpb } from '../proto/pb.js';
import type { ApplyResult } from '../apply/interface.js';
import type { ApplyOutcome } from './ports.js';
import { answersWhenVisible } from './commit-policy.js';

/** `withEvents` false: the events are left out (eventsOmitted) instead of encoded. */
export function toOutcome(r: ApplyResult, withEvents = true): ApplyOutcome {
  return {
    index: r.index,
    requestId: r.requestId,
    revision: r.revision,
    response: r.response,
    errorCode: r.errorCode,
    events: r.events.length === 0 || !withEvents ? undefined : r.events.map((e) => mvccpb.Event.encode(e).finish()),
    ...(r.events.length > 0 && !withEvents ? { eventsOmitted: true } : {}),
    ...(r.lease !== undefined ? { lease: r.lease } : {}),
    ...(r.alarmsChanged ? { alarmsChanged: true } : {}),
    ...(r.authChanged ? { authChanged: true } : {}),
    ...(r.authToken ? { authToken: true } : {}),
    ...(answersWhenVisible(r) ? { visibleAnswer: true } : {}),
  };
}

/** True when a result asks to wait for physical compaction before it is answered. */
export function needsPhysicalCompaction(results: readonly ApplyResult[]): boolean {
  for (const r of results) if (r.compactPhysical) return true;
  return false;
}
