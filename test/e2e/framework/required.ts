/**
 * Skips that CI must not take. Locally, a missing real etcd or etcdctl skips the tests that
 * need it, with the reason. Under CI=true (or ETCD_TEST_REQUIRE_TOOLS=1) the same absence
 * throws, so the test file fails: CI installs both, and a skip there would hide that a check
 * never ran (issue 14).
 */
export function toolsRequired(): boolean {
  return process.env['CI'] === 'true' || process.env['ETCD_TEST_REQUIRE_TOOLS'] === '1';
}

/** `reason` unchanged (a skip reason, or undefined when available); throws instead when tools are required. */
export function skipUnlessRequired(reason: string | undefined): string | undefined {
  if (reason !== undefined && toolsRequired()) {
    throw new Error(`${reason} — under CI=true (or ETCD_TEST_REQUIRE_TOOLS=1) this fails instead of skipping`);
  }
  return reason;
}
