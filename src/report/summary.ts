/**
 * summary.json: a matrix's results for machines. Its shape is versioned (`schema`) and documented
 * in docs/reference/results.md; fields are only ever added within a version.
 */
import type { MatrixRow } from '../runner/matrix.js';
import type { Cell, Stats } from './cells.js';
import type { ExpectOutcome } from './expect.js';
import type { FieldDocs } from './field-docs.js';

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

type SummaryCell = Summary['cells'][number];
type Experiment = {
  index: number;
  dir: string;
  wall_ms: number | null;
  error: string;
  result: unknown;
};

const STATS: FieldDocs<Stats> = {
  p50: 'the median (nearest rank)',
  p95: 'the 95th percentile (nearest rank)',
  max: 'the largest',
};
const stats = (what: string): { text: string; fields: FieldDocs<Stats> } => ({
  text: `${what}, over the repetitions: \`{p50, p95, max}\`, or null when there is no value`,
  fields: STATS,
});

/**
 * The fields of summary.json, described for the reference (docs/reference/results.md); typed
 * against Summary, so a new field without a description does not compile.
 */
export const SUMMARY_FIELDS: FieldDocs<Summary> = {
  schema: `the shape's version, \`${SUMMARY_SCHEMA}\`: fields are only ever added within a version`,
  title: "the scenario's name",
  run_id: "the run's id (its namespaces and output directory are named after it)",
  started_at: 'when it started, ISO 8601',
  wall_s: 'how long it took, in seconds',
  parallel: 'the most experiments at once: `--parallel`, or the default',
  parallel_lowest:
    'the fewest the runner allowed at once, having lowered the limit as timers ran late',
  parallel_changes: {
    text: 'each change of the limit',
    fields: {
      done: 'experiments finished when it changed',
      from: 'the limit before',
      to: 'the limit after',
      lateness_ms: 'the timer lateness that lowered it; null for a raise',
    } satisfies FieldDocs<Summary['parallel_changes'][number]>,
  },
  host: 'the machine it ran on: its host name, Linux release and cores',
  cells: {
    text: 'one per cell (a client, strategy, workload, QoS and fault on a testbed), in scenario order',
    fields: {
      testbed: 'where it ran',
      target: 'the server side',
      strategy: 'the strategy spec',
      workload: 'the workload',
      qos: 'the MQTT QoS; null for other targets',
      fault: 'the fault, by name',
      fault_label: 'the fault with its heal or restart (`partition healed at 6 s`)',
      runs: 'repetitions',
      detected: 'how many of them detected the fault by the deadline',
      detect_ms: stats('fault to detection, in ms'),
      predicted_ms: 'the window, `[min, max]` in ms, or null for never',
      verdicts: 'verdict -> repetitions, e.g. `{"inside": 3}`',
      lost: stats('messages lost'),
      stale_sent: stats('messages accepted after the fault before detection'),
      reconnect_ms: stats('to a working connection again, in ms'),
      errors: "lab failures of this cell's experiments",
      expect: {
        text: 'each expectation given for the cell, whether it was met and what was measured (empty without expectations)',
        fields: {
          expect: 'the clause, as written',
          met: 'whether every repetition (or the statistic) met it',
          actual: 'what was measured, in words',
        } satisfies FieldDocs<ExpectOutcome>,
      },
    } satisfies FieldDocs<SummaryCell>,
  },
  expect_missed: 'how many cells missed an expectation (0 when none was given)',
  experiments: {
    text: 'every experiment, in order: where it wrote, how long it took, and its result or its error',
    fields: {
      index: "the experiment's number in the scenario's expansion",
      dir: 'its directory (timeline.jsonl, result.json): the output directory as given, joined with its own name',
      wall_ms: 'how long it took; null when it did not run',
      error: 'why it gave no result (instead of `result`)',
      result: 'its result, as result.json holds it (see above)',
    } satisfies FieldDocs<Experiment>,
  },
};

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
