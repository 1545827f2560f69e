/**
 * A one-line status display on stderr for long runs. Silent when stderr is not a terminal, so
 * pipes, CI logs and --json consumers see only results.
 */

/** Where the line goes: stderr, or a stand-in with the same shape (tests). */
export interface StatusStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** The width a status line may take: the terminal's, or 100 where it reports none (or 0). */
export const lineWidth = (columns: number | undefined): number =>
  columns !== undefined && columns > 0 ? columns : 100;

export class Progress {
  private readonly enabled: boolean;
  private last = '';
  private readonly start = Date.now();

  constructor(
    enabled?: boolean,
    private readonly out: StatusStream = process.stderr,
  ) {
    this.enabled = enabled ?? out.isTTY === true;
  }

  update = (status: string): void => {
    if (!this.enabled || status === this.last) return;
    this.last = status;
    const elapsed = ((Date.now() - this.start) / 1000).toFixed(1);
    // The erase sequence and `\r` take no columns: the text itself is cut to the width.
    this.out.write(`\r\x1b[2K${`[${elapsed}s] ${status}`.slice(0, lineWidth(this.out.columns))}`);
  };

  clear(): void {
    if (this.enabled && this.last) this.out.write('\r\x1b[2K');
    this.last = '';
  }
}
