/** Terminal output helpers: aligned tables on a TTY, and a progress line that redraws or logs. */

export function table(rows: readonly (readonly (string | number | null | undefined)[])[], header: readonly string[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export class Progress {
  private readonly total: number;
  private readonly tty: boolean;
  private readonly stream: NodeJS.WriteStream;
  private lastLog = 0;

  constructor(total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.total = total;
    this.stream = stream;
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, label = 'sent'): void {
    const now = Date.now();
    if (this.tty) {
      const width = 30;
      const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${label}`);
      if (done >= this.total) this.stream.write('\n');
    } else if (now - this.lastLog >= 1000 || done >= this.total) {
      // Not a terminal: a plain line at most once a second.
      this.lastLog = now;
      this.stream.write(`${done}/${this.total} ${label}\n`);
    }
  }
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? null;
}
