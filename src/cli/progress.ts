/**
 * A one-line status display on stderr for long runs. Silent when stderr is not a terminal, so
 * pipes, CI logs and --json consumers see only results.
 */
export class Progress {
  private readonly enabled: boolean;
  private last = '';
  private readonly start = Date.now();

  constructor(enabled = process.stderr.isTTY === true) {
    this.enabled = enabled;
  }

  update = (status: string): void => {
    if (!this.enabled || status === this.last) return;
    this.last = status;
    const elapsed = ((Date.now() - this.start) / 1000).toFixed(1);
    const width = process.stderr.columns ?? 100;
    process.stderr.write(`\r\x1b[2K[${elapsed}s] ${status}`.slice(0, width + 5));
  };

  clear(): void {
    if (this.enabled && this.last) process.stderr.write('\r\x1b[2K');
    this.last = '';
  }
}
