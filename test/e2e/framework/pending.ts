/**
 * Features our server does not have yet. A suite (or fixture step) that needs one runs as a
 * node:test `todo`: it still runs and reports what fails, but a failure does not fail the run,
 * so CI stays usable while the server grows.
 *
 * REMOVE THE ENTRY in the commit that implements the feature: from then on its tests count.
 * The run enforces it: when every todo test of a pending feature passes, scripts/run-tests.mjs
 * fails with "pending feature ... all N todo tests pass; remove it from PENDING".
 * Against the real etcd (ETCD_TEST_SERVER=real) nothing is pending, and ETCD_TEST_STRICT=1
 * makes every pending test count as a normal one.
 */
import { serverKind } from './process.js';

export type Feature = 'lease' | 'watch' | 'multi-member';

export const PENDING: Readonly<Partial<Record<Feature, string>>> = {
};

/**
 * A `todo` reason when `feature` is pending for the server under test, else false. The reason
 * starts with `pending feature "<name>":`; scripts/pending-reporter.mjs watches those, and the
 * run fails once every todo test of a feature passes (the entry must then be removed here).
 */
export function pending(feature: Feature | undefined): string | false {
  if (feature === undefined || serverKind() === 'real' || process.env['ETCD_TEST_STRICT'] === '1') return false;
  const why = PENDING[feature];
  return why === undefined ? false : `pending feature "${feature}": ${why}`;
}
