/**
 * summary.json: a matrix's results for machines. Its shape is versioned (`schema`) and documented
 * in the README; fields are only ever added within a version.
 */
import type { MatrixRow } from '../runner/matrix.js';
import type { Cell, Stats } from './cells.js';
import type { ExpectOutcome } from './expect.js';

export const SUMMARY_SCHEMA = 'halfopen.summary/1';

export interface Summary {
  schema: typeof SUMMARY_SCHEMA;
  title: string;
  run_id: string;
  started_at: string;
  wall_s: number;
  /** The most experiments at once: --parallel, or the machine's default. */
  parallel: number;
  /** The fewest the runner allowed at once, having lowered the limit as timers ran late. */
  parallel_lowest: number;
  /** Each change of the limit: after how many experiments, from, to, and the lateness (or null: a raise). */
  parallel_changes: { done: number; from: number; to: number; lateness_ms: number | null }[];
  host: string;
  cells: {
    testbed: string;
    target: string;
    strategy: string;
    workload: string;
    qos: 0 | 1 | null;
    fault: string;
    fault_label: string;
    runs: number;
    detected: number;
    detect_ms: Stats | null;
    predicted_ms: [number, number] | null;
    verdicts: Record<string, number>;
    lost: Stats | null;
    stale_sent: Stats | null;
    reconnect_ms: Stats | null;
    errors: string[];
    /** Each expectation given for the cell, whether it was met and what was measured. */
    expect: ExpectOutcome[];
  }[];
  /** Cells that missed an expectation (0 when none was given). */
  expect_missed: number;
  experiments: ({ index: number; dir: string; wall_ms: number | null } & (
    { error: string } | { result: Record<string, unknown> }
  ))[];
}

export function buildSummary(
  meta: Omit<Summary, 'schema' | 'cells' | 'experiments' | 'expect_missed'>,
  cells: readonly Cell[],
  rows: readonly MatrixRow[],
  dirOf: (row: MatrixRow) => string,
): Summary {
  return {
    schema: SUMMARY_SCHEMA,
    ...meta,
    cells: cells.map((c) => ({
      testbed: c.testbed,
      target: c.target,
      strategy: c.strategy,
      workload: c.workload,
      qos: c.qos,
      fault: c.fault,
      fault_label: c.faultLabel,
      runs: c.runs,
      detected: c.detected,
      detect_ms: c.detect,
      predicted_ms: c.predicted_ms,
      verdicts: Object.fromEntries(c.verdicts),
      lost: c.lost,
      stale_sent: c.stale_sent,
      reconnect_ms: c.reconnect,
      errors: c.errors,
      expect: c.expect,
    })),
    expect_missed: cells.filter((c) => c.expect.some((e) => !e.met)).length,
    experiments: rows.map((row) => {
      const base = { index: row.index, dir: dirOf(row), wall_ms: row.wallMs ?? null };
      if (!row.result) return { ...base, error: row.error ?? 'not run' };
      const { timeline: _timeline, ...result } = row.result;
      return { ...base, result };
    }),
  };
}
