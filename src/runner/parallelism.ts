/**
 * How many experiments a matrix runs at once: a default chosen from the machine, and a limit that
 * is lowered while the experiments report their timers running late.
 *
 * What one experiment costs (measured on a 2-core VM, `npm run bench:matrix` prints the CPU part):
 * two processes for a TCP client (client, target), four with a broker (client, broker, sink, and
 * the broker's own); up to about 150 MB resident; about one CPU-second, most of it starting the
 * processes, over a wall time of 5 to 15 s that is mostly spent waiting on timers. So a core can
 * host several experiments, but not without bound: too many at once make the processes' timers
 * late, and the measurements with them. The demo's 45 experiments gave the same verdicts at 4, 12
 * and 24 at once on 2 cores (63.6 s, 29.4 s, 24.7 s).
 */
import { availableParallelism, freemem } from 'node:os';

/** Experiments per core: 24 on 2 cores kept every verdict; this leaves a third of that spare. */
export const PER_CORE = 8;
/** What one experiment's processes may take resident, at most (a broker experiment's four). */
export const EXPERIMENT_BYTES = 150 * 1024 * 1024;
/**
 * Never more by default: one runner process reads every child's event lines, and namespace and
 * veth setup are serialised in the kernel (its rtnl lock). Nothing above 24 has been measured.
 * The address plan is no limit: 16384 blocks, one per running experiment.
 */
export const MAX_DEFAULT = 32;

export interface Machine {
  cores: number;
  /** Memory available to new processes, in bytes. */
  freeBytes: number;
}

/**
 * `PER_CORE` per core, as many as the free memory holds, at least 1 (a machine that cannot hold
 * two still runs one), at most `MAX_DEFAULT`.
 */
export function parallelFor({ cores, freeBytes }: Machine): number {
  const byCpu = PER_CORE * Math.max(1, Math.floor(cores));
  const byMemory = Math.floor(Math.max(0, freeBytes) / EXPERIMENT_BYTES);
  return Math.max(1, Math.min(MAX_DEFAULT, byCpu, byMemory));
}

/** The default for this machine, now. */
export const defaultParallel = (): number =>
  parallelFor({ cores: availableParallelism(), freeBytes: freemem() });

/**
 * The timer lateness (ms) above which an experiment counts as late: four times the verdict's fixed
 * 25 ms tolerance (core/window.ts). The verdict already allows for the lateness it measured, so a
 * late timer does not make a verdict wrong; it makes the measurement coarser. 100 ms is a tenth of
 * the narrowest silent-fault window the demo predicts (1 s wide). At 50 ms the demo on 2 cores
 * was halved from 16 to 8 by one 53.5 ms report with every verdict the same as a serial run's.
 */
export const LATE_MS = 100;
/** At most this lateness an experiment counts as on time, towards raising the limit again. */
export const ON_TIME_MS = LATE_MS / 2;

export interface LimitChange {
  /** Experiments finished when it changed. */
  done: number;
  from: number;
  to: number;
  /** The lateness that lowered it; null for a raise. */
  latenessMs: number | null;
}

/**
 * The matrix's concurrency limit, lowered by half (never below 1) when an experiment reports its
 * timers more than `LATE_MS` late, and raised by one, never above where it started, once as many
 * experiments as the limit in a row came back on time. Only experiments started since the last
 * change count: those started before it ran under the old limit, which has been answered already.
 * This is TCP's own rule for its window (halve on a loss, grow by one per window).
 */
export class ConcurrencyLimit {
  private current: number;
  private epoch = 0;
  private onTime = 0;
  private done = 0;
  readonly changes: LimitChange[] = [];

  constructor(readonly start: number) {
    if (!Number.isInteger(start) || start < 1) throw new RangeError(`limit ${start}`);
    this.current = start;
  }

  get limit(): number {
    return this.current;
  }

  /** The lowest the limit has been. */
  get lowest(): number {
    return Math.min(this.start, ...this.changes.map((c) => c.to));
  }

  /** Call as an experiment starts; give what it returns to `ended`. */
  started(): number {
    return this.epoch;
  }

  /**
   * An experiment that started at `epoch` ended, its timers at most `latenessMs` late (null: no
   * process reported any, or it failed). Returns the change this made, if any.
   */
  ended(epoch: number, latenessMs: number | null): LimitChange | null {
    this.done += 1;
    if (epoch !== this.epoch || latenessMs === null) return null;
    if (latenessMs > LATE_MS) {
      if (this.current === 1) return null;
      return this.change(Math.max(1, Math.floor(this.current / 2)), latenessMs);
    }
    if (latenessMs <= ON_TIME_MS && this.current < this.start) {
      this.onTime += 1;
      if (this.onTime >= this.current) return this.change(this.current + 1, null);
    }
    return null;
  }

  private change(to: number, latenessMs: number | null): LimitChange {
    const c = { done: this.done, from: this.current, to, latenessMs };
    this.changes.push(c);
    this.current = to;
    this.epoch += 1;
    this.onTime = 0;
    return c;
  }
}

/**
 * What the user reads about the limit, a line per lowering
 * (`timers ran late at 16 at once (61 ms); lowered to 8`) and, when it was raised again since the
 * last one, where it ended.
 */
export function describeLimit(limit: ConcurrencyLimit): string[] {
  const lines = limit.changes.flatMap((c) =>
    c.latenessMs !== null
      ? [`timers ran late at ${c.from} at once (${c.latenessMs} ms); lowered to ${c.to}`]
      : [],
  );
  const last = limit.changes.at(-1);
  if (last && last.latenessMs === null)
    lines.push(`timers kept time again; raised one at a time to ${limit.limit}`);
  return lines;
}
