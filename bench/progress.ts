/** A one-line progress bar on stderr, redrawn a few times a second; only on a terminal. */
export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;
  private readonly enabled: boolean;

  constructor(enabled: boolean, private readonly read: () => { done: number; errors: number; fraction: number }) {
    this.enabled = enabled && process.stderr.isTTY === true;
  }

  start(): void {
    if (!this.enabled) return;
    const t0 = Date.now();
    this.timer = setInterval(() => {
      const { done, errors, fraction } = this.read();
      process.stderr.write(`\r${renderBar(fraction, 30)} ${done} ok ${errors} err ${((Date.now() - t0) / 1000).toFixed(0)}s `);
    }, 250);
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      process.stderr.write('\r\x1b[K');
    }
  }
}

export function renderBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}
