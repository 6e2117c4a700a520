// Maintenance.Downgrade's answers: etcd's target checks and errors, ENABLE refused clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downgrade } from '../../../../src/api/v3rpc/maintenance.js';
import { EtcdError } from '../../../../src/errors/errors.js';

const st = { version: '3.6.0', header: { revision: 5 } };
const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof EtcdError) return e.code;
    throw e;
  }
  return 'ok';
};

test('VALIDATE: one minor below the cluster version, as etcd; malformed and other targets refused', () => {
  assert.deepEqual(downgrade({ action: 0, version: '3.5' }, st), { header: st.header, version: '3.6.0' });
  assert.deepEqual(downgrade({ action: 0, version: '3.5.0' }, st), { header: st.header, version: '3.6.0' });
  assert.equal(code(() => downgrade({ action: 0, version: '3.4' }, st)), 'ETCD_ERR_SERVER_INVALID_DOWNGRADE_TARGET_VERSION');
  assert.equal(code(() => downgrade({ action: 0, version: '3.6' }, st)), 'ETCD_ERR_SERVER_INVALID_DOWNGRADE_TARGET_VERSION');
  for (const v of ['', 'three', '3', '3.5.x', '3.5.0.1', '-3.5']) {
    assert.equal(code(() => downgrade({ action: 0, version: v }, st)), 'ETCD_ERR_SERVER_WRONG_DOWNGRADE_VERSION_FORMAT', v);
  }
});

test('ENABLE is refused with a clear answer; CANCEL has no job', () => {
  assert.equal(code(() => downgrade({ action: 1, version: '3.5' }, st)), 'ETCD_ERR_SERVER_DOWNGRADE_NOT_SUPPORTED');
  assert.equal(code(() => downgrade({ action: 1, version: '3.4' }, st)), 'ETCD_ERR_SERVER_INVALID_DOWNGRADE_TARGET_VERSION');
  assert.equal(code(() => downgrade({ action: 2 }, st)), 'ETCD_ERR_SERVER_NO_INFLIGHT_DOWNGRADE');
});
