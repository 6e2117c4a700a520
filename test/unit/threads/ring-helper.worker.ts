// Test helper worker for ring.test.ts: 'echo' copies every frame back; 'verify'
// checks a sequence of frames (u32 seq, then bytes (seq + i) & 0xff) and reports.
import { parentPort, workerData } from 'node:worker_threads';
import { workerChannel } from '../../../src/threads/worker-channel.js';

const { rx, tx } = workerChannel(workerData);
const mode = (workerData as { mode: string }).mode;

if (mode === 'echo') {
  for (;;) {
    if (!rx.waitReadable(1000)) {
      if (rx.isDone()) break;
      continue;
    }
    const frames: Uint8Array[] = [];
    rx.drain((b, off, len) => {
      frames.push(b.slice(off, off + len));
    });
    for (const f of frames) tx.writeBlocking(f);
  }
  tx.close();
} else {
  let expected = 0;
  let error: string | null = null;
  let bytes = 0;
  while (!rx.isDone()) {
    rx.waitReadable(1000);
    rx.drain((b, off, len) => {
      bytes += len;
      if (error) return;
      const dv = new DataView(b.buffer, b.byteOffset + off, len);
      const seq = dv.getUint32(0, true);
      if (seq !== expected) error = `frame ${expected}: got seq ${seq}`;
      for (let i = 4; i < len && !error; i++) {
        if (b[off + i] !== ((seq + i) & 0xff)) error = `frame ${seq}: byte ${i} wrong`;
      }
      expected++;
    });
  }
  parentPort!.postMessage({ count: expected, bytes, error });
}
