/**
 * lowerThisThreadPriority changes the calling thread only: a worker lowers itself, and the
 * main thread (the one answering clients) keeps its priority.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const niceOf = (tid: number): number => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
const mainTid = (): number => Number(/\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))![1]);

test('a worker lowers its own priority; the main thread keeps its own', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
  const before = niceOf(mainTid());
  const moduleUrl = new URL('../../../src/threads/thread-priority.js', import.meta.url).href;
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { readlinkSync } = require('node:fs');
     import(${JSON.stringify(moduleUrl)}).then((m) => {
       const changed = m.lowerThisThreadPriority(${before + 5});
       const tid = Number(/\\/task\\/(\\d+)$/.exec(readlinkSync('/proc/thread-self'))[1]);
       parentPort.postMessage({ changed, tid });
       setTimeout(() => {}, 2000);
     });`,
    { eval: true },
  );
  try {
    const { changed, tid } = await new Promise<{ changed: boolean; tid: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.equal(changed, true);
    assert.notEqual(tid, mainTid());
    assert.equal(niceOf(tid), before + 5, 'the worker thread runs at the lowered priority');
    assert.equal(niceOf(mainTid()), before, 'the main thread is unchanged');
  } finally {
    await w.terminate();
  }
});
