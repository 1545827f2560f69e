/**
 * Runs many experiments at once, each in its own testbed (own namespaces, own address block),
 * at most `parallel` at a time. A failed experiment is a row with its error, not the end of the
 * matrix; an abort stops handing out work and lets every running experiment tear down.
 */
import { InterruptedError, TeardownError } from '../errors.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import { runExperiment, type ExperimentResult } from './experiment.js';

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
  /** Seconds until the last experiment ends, from the mean time per experiment so far. */
  etaS: number | null;
}

export interface MatrixOptions {
  parallel: number;
  runId: string;
  signal?: AbortSignal;
  onStatus?: (status: MatrixStatus) => void;
  /** Called as each experiment ends (for writing its timeline at once). */
  onRow?: (row: MatrixRow) => void;
}

export async function runMatrix(
  specs: readonly ExperimentSpec[],
  opts: MatrixOptions,
): Promise<MatrixRow[]> {
  const rows: MatrixRow[] = specs.map((spec, index) => ({ index, spec }));
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
      etaS: perSlot === null ? null : Math.round((perSlot * (rows.length - done)) / 1000),
    });
  };
  // A fixed pool: each worker takes the next experiment until none is left or the run is aborted.
  const worker = async (): Promise<void> => {
    while (next < rows.length && !opts.signal?.aborted) {
      const row = rows[next++]!;
      running += 1;
      status();
      const t = Date.now();
      try {
        row.result = await runExperiment(row.spec, {
          runId: opts.runId,
          index: row.index,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        row.error = err instanceof Error ? err.message : String(err);
        failed += 1;
      } finally {
        row.wallMs = Date.now() - t;
        running -= 1;
      }
      done += 1;
      opts.onRow?.(row);
      status();
    }
  };
  // allSettled: on Ctrl-C every worker finishes its own teardown before the matrix returns.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(opts.parallel, rows.length) }, worker),
  );
  // Experiments whose teardown left something behind are reported as such, all of them, never as
  // a clean interruption: the user must learn to run `halfopen cleanup`.
  const leaks = settled.flatMap((s) =>
    s.status === 'rejected' && s.reason instanceof TeardownError ? [s.reason] : [],
  );
  if (leaks.length === 1) throw leaks[0]!;
  if (leaks.length > 1)
    throw new TeardownError(
      opts.signal?.aborted ? new InterruptedError() : undefined,
      leaks.flatMap((l) => l.leftovers),
    );
  if (opts.signal?.aborted) throw new InterruptedError();
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return rows;
}
