/**
 * A one-line progress indicator on stderr, for export and import of large stores. Shown only when stderr is a
 * terminal or with --progress, so pipes and CI logs stay clean. Hand-written (about 40 lines) rather than
 * cli-progress: we need a single counter with an optional total, and no dependency for it.
 */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean,
    private readonly total?: number,
    private readonly unit = 'entries',
  ) {}

  tick(amount = 1): void {
    this.done += amount;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw >= 100) {
      this.lastDraw = now;
      this.draw();
    }
  }

  private draw(): void {
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = `${Math.round(this.done / seconds).toLocaleString('en-US')}/s`;
    let line = `${this.label} ${this.done.toLocaleString('en-US')} ${this.unit}`;
    if (this.total !== undefined && this.total > 0) {
      const ratio = Math.min(1, this.done / this.total);
      const width = 24;
      const filled = Math.round(ratio * width);
      line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(0)}% ${this.done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')} ${this.unit}`;
    }
    process.stderr.write(`\r${line} (${rate})\x1b[K`);
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.enabled) return;
    this.draw();
    process.stderr.write('\n');
  }
}
