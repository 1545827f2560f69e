/**
 * Runs many experiments at once, each in its own testbed (own namespaces, own address block),
 * at most `parallel` at a time, fewer while they report their timers late (parallelism.ts). A
 * failed experiment is a row with its error, not the end of the matrix; an abort stops handing out
 * work and lets every running experiment tear down.
 */
import { InterruptedError, TeardownError } from '../errors.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import { AbortFanOut } from '../util/abort.js';
import { runExperiment, type ExperimentResult } from './experiment.js';
import { ConcurrencyLimit, type LimitChange } from './parallelism.js';

export interface MatrixRow {
  index: number;
  spec: ExperimentSpec;
  result?: ExperimentResult;
  error?: string;
  wallMs?: number;
}

export interface MatrixStatus {
  done: number;
  total: number;
  running: number;
  failed: number;
  /** How many may run at once now: `parallel`, or lower while timers run late. */
  limit: number;
  /** Seconds until the last experiment ends, from the mean time per experiment so far. */
  etaS: number | null;
}

export interface MatrixOptions {
  /** The most experiments at once. */
  parallel: number;
  runId: string;
  signal?: AbortSignal;
  onStatus?: (status: MatrixStatus) => void;
  /** Called as each experiment ends (for writing its timeline at once). */
  onRow?: (row: MatrixRow) => void;
  /** Called when the limit is lowered or raised. */
  onLimit?: (change: LimitChange) => void;
  /** Given the limit the run uses, to read its changes during and after the run. */
  limit?: ConcurrencyLimit;
}

export async function runMatrix(
  specs: readonly ExperimentSpec[],
  opts: MatrixOptions,
): Promise<MatrixRow[]> {
  const rows: MatrixRow[] = specs.map((spec, index) => ({ index, spec }));
  const limit = opts.limit ?? new ConcurrencyLimit(opts.parallel);
  const started = Date.now();
  let next = 0;
  let running = 0;
  let done = 0;
  let failed = 0;
  const status = (): void => {
    const perSlot = done > 0 ? (Date.now() - started) / done : null;
    opts.onStatus?.({
      done,
      total: rows.length,
      running,
      failed,
      limit: limit.limit,
      etaS: perSlot === null ? null : Math.round((perSlot * (rows.length - done)) / 1000),
    });
  };
  // Each experiment listens on its own signal, aborted with the run's: one listener on the run's
  // signal however many run at once.
  const fan = new AbortFanOut(opts.signal);
  // What experiments threw on the way out of an abort (their teardown may have left something).
  const thrown: unknown[] = [];
  const one = async (row: MatrixRow): Promise<void> => {
    const epoch = limit.started();
    running += 1;
    status();
    const t = Date.now();
    try {
      row.result = await fan.run((signal) =>
        runExperiment(row.spec, { runId: opts.runId, index: row.index, signal }),
      );
    } catch (err) {
      if (opts.signal?.aborted) {
        thrown.push(err);
        return;
      }
      row.error = err instanceof Error ? err.message : String(err);
      failed += 1;
    } finally {
      row.wallMs = Date.now() - t;
      running -= 1;
    }
    done += 1;
    const change = limit.ended(epoch, row.result?.timer_lateness_ms ?? null);
    if (change) opts.onLimit?.(change);
    opts.onRow?.(row);
    status();
  };
  // A pool whose size is the limit of the moment: as one ends, start as many as now fit.
  try {
    await new Promise<void>((resolve) => {
      const fill = (): void => {
        while (next < rows.length && !opts.signal?.aborted && running < limit.limit)
          void one(rows[next++]!)
            .catch((err: unknown) => void thrown.push(err)) // from onRow or onLimit
            .finally(fill);
        // On Ctrl-C every running experiment finishes its own teardown before the matrix returns.
        if (running === 0) resolve();
      };
      fill();
    });
  } finally {
    fan.close();
  }
  // Experiments whose teardown left something behind are reported as such, all of them, never as
  // a clean interruption: the user must learn to run `halfopen cleanup`.
  const leaks = thrown.filter((e): e is TeardownError => e instanceof TeardownError);
  if (leaks.length === 1) throw leaks[0]!;
  if (leaks.length > 1)
    throw new TeardownError(
      opts.signal?.aborted ? new InterruptedError() : undefined,
      leaks.flatMap((l) => l.leftovers),
    );
  if (opts.signal?.aborted) throw new InterruptedError();
  if (thrown.length > 0) throw thrown[0];
  return rows;
}
