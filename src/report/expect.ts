/**
 * Expectations: what a run must show for a pipeline to pass. Written as clauses such as
 * `detect<=15s`, `lost=0`, `verdict=inside|early`, `reconnect.p95<2s`, given with `--expect` or
 * under `expect:` in a scenario file, and checked against every repetition of a cell (or, with a
 * `.p50`/`.p95`/`.max` suffix, against that statistic of the repetitions).
 */
import { VERDICTS, type Verdict } from '../advise/predict.js';
import { BadInputError } from '../errors.js';
import { formatMs, parseDuration } from '../util/duration.js';

/** What an expectation is about, and how each result gives it. */
interface MetricDef {
  kind: 'duration' | 'count' | 'verdict';
  help: string;
  /** The result's value: null is "did not happen" (a duration) or "unknown" (a count). */
  of: (r: CheckedResult) => number | null;
}

/** The fields of a result (result.json) that expectations read. */
export interface CheckedResult {
  detect_ms: number | null;
  reconnect_ms: number | null;
  lost: number;
  stale_sent: number | null;
  duplicates: number;
  false_disconnects: number;
  verdict: Verdict;
}

export const EXPECT_METRICS = {
  detect: {
    kind: 'duration',
    help: 'time from the fault to the client noticing (not noticed: missed, unless the bound is a lower one)',
    of: (r) => r.detect_ms,
  },
  reconnect: {
    kind: 'duration',
    help: 'time to a working connection again (never: missed)',
    of: (r) => r.reconnect_ms,
  },
  lost: {
    kind: 'count',
    help: 'messages accepted by the API that never arrived',
    of: (r) => r.lost,
  },
  stale: {
    kind: 'count',
    help: 'messages sent into the dead connection after the fault',
    of: (r) => r.stale_sent,
  },
  duplicates: { kind: 'count', help: 'messages delivered twice', of: (r) => r.duplicates },
  false_disconnects: {
    kind: 'count',
    help: 'disconnects before the fault',
    of: (r) => r.false_disconnects,
  },
  verdict: {
    kind: 'verdict',
    help: 'the verdict against the predicted window; alternatives with |',
    of: () => null,
  },
} satisfies Record<string, MetricDef>;

export type ExpectMetric = keyof typeof EXPECT_METRICS;
type Op = '<=' | '>=' | '!=' | '=' | '<' | '>';
const STATS = ['p50', 'p95', 'max'] as const;

export interface Expectation {
  /** The clause as the user wrote it (trimmed): messages quote it. */
  text: string;
  metric: ExpectMetric;
  /** null: every repetition must meet it. */
  stat: (typeof STATS)[number] | null;
  op: Op;
  /** ms for durations, a count, or the verdicts allowed (=) or refused (!=). */
  value: number | Verdict[];
}

export interface ExpectOutcome {
  /** The clause, as written. */
  expect: string;
  met: boolean;
  /** What was measured, in words: "2.95 s", "not detected in 1 of 3 runs", "late". */
  actual: string;
}

const CLAUSE = /^([a-z_]+)(?:\.([a-z0-9]+))?\s*(<=|>=|!=|==|=|<|>)\s*(.*)$/;

/** A verdict as typed: `beyond deadline` or `beyond-deadline`. */
const verdictOf = (text: string, clause: string, what: string): Verdict => {
  const v = text.trim().replace(/-/g, ' ').replace(/\s+/g, ' ');
  const found = VERDICTS.find((known) => known === v);
  if (!found)
    throw new BadInputError(
      `${what}: '${clause}': '${text.trim()}' is not a verdict (one of: ${VERDICTS.join(', ')})`,
    );
  return found;
};

/** One clause: `detect<=15s`. `what` says where it was given (`--expect`, `expect[1]`). */
export function parseExpectation(clause: string, what: string): Expectation {
  const text = clause.trim();
  const m = CLAUSE.exec(text);
  if (!m)
    throw new BadInputError(
      `${what}: '${clause}' is not an expectation (expected <metric><op><value>, e.g. detect<=15s, lost=0, verdict=inside)`,
    );
  const name = m[1]!;
  const statText = m[2];
  const opText = m[3]!;
  const valueText = m[4]!;
  if (!(name in EXPECT_METRICS))
    throw new BadInputError(
      `${what}: '${clause}': '${name}' is not a measurement (one of: ${Object.keys(EXPECT_METRICS).join(', ')})`,
    );
  const metric = name as ExpectMetric;
  const def: MetricDef = EXPECT_METRICS[metric];
  if (statText !== undefined && !(STATS as readonly string[]).includes(statText))
    throw new BadInputError(
      `${what}: '${clause}': '.${statText}' is not a statistic (one of: .${STATS.join(', .')})`,
    );
  if (statText !== undefined && def.kind === 'verdict')
    throw new BadInputError(`${what}: '${clause}': a verdict has no statistic`);
  const op = (opText === '==' ? '=' : opText) as Op;
  if (valueText.trim() === '')
    throw new BadInputError(`${what}: '${clause}': the value is missing`);
  const stat = (statText ?? null) as Expectation['stat'];
  if (def.kind === 'verdict') {
    if (op !== '=' && op !== '!=')
      throw new BadInputError(`${what}: '${clause}': a verdict takes = or != (not ${opText})`);
    const value = valueText.split('|').map((v) => verdictOf(v, clause, what));
    return { text, metric, stat, op, value };
  }
  if (def.kind === 'duration')
    return { text, metric, stat, op, value: parseDuration(valueText, `${what}: '${clause}'`) };
  const n = Number(valueText.trim());
  if (!/^\d+$/.test(valueText.trim()) || !Number.isSafeInteger(n))
    throw new BadInputError(
      `${what}: '${clause}': '${valueText.trim()}' is not a count (a whole number, e.g. ${name}=0)`,
    );
  return { text, metric, stat, op, value: n };
}

/** Clauses separated by commas (`detect<=15s, lost=0`), or already a list of them. */
export function parseExpectations(texts: string | readonly string[], what: string): Expectation[] {
  const list = typeof texts === 'string' ? [texts] : texts;
  return list.flatMap((t) =>
    t
      .split(',')
      .filter((c) => c.trim() !== '')
      .map((c) => parseExpectation(c, what)),
  );
}

/**
 * `override`'s clauses replace the base's on the same measurement and statistic; the rest add.
 * (A scenario's `expect:` under a client is more specific than the scenario's own; `--expect`
 * wins over both.)
 */
export function mergeExpectations(
  base: readonly Expectation[],
  override: readonly Expectation[],
): Expectation[] {
  const same = (a: Expectation, b: Expectation): boolean =>
    a.metric === b.metric && a.stat === b.stat;
  return [...base.filter((b) => !override.some((o) => same(o, b))), ...override];
}

const compare = (a: number, op: Op, b: number): boolean =>
  op === '<='
    ? a <= b
    : op === '<'
      ? a < b
      : op === '>='
        ? a >= b
        : op === '>'
          ? a > b
          : op === '!='
            ? a !== b
            : a === b;

/** Nearest-rank percentile; null (did not happen) sorts last, as the slowest. */
function statOf(values: readonly (number | null)[], stat: 'p50' | 'p95' | 'max'): number | null {
  const sorted = [...values].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
  const p = stat === 'p50' ? 50 : stat === 'p95' ? 95 : 100;
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

function show(e: Expectation, v: number | null): string {
  const def: MetricDef = EXPECT_METRICS[e.metric];
  if (v === null)
    return def.kind === 'count'
      ? 'unknown'
      : e.metric === 'detect'
        ? 'not detected'
        : 'no reconnect';
  return def.kind === 'duration' ? formatMs(v) : String(v);
}

/**
 * Checks one cell: its results (one per repetition that ran) and the errors of those that did not.
 * An experiment that failed to run meets nothing: its expectations could not be checked.
 */
export function checkExpectations(
  exps: readonly Expectation[],
  results: readonly CheckedResult[],
  errors: readonly string[] = [],
): ExpectOutcome[] {
  const runs = results.length + errors.length;
  return exps.map((e) => {
    const failedRuns =
      errors.length > 0 ? `; ${errors.length} of ${runs} runs failed: ${errors[0]}` : '';
    if (e.metric === 'verdict') {
      const allowed = e.value as Verdict[];
      const bad = results.filter((r) => allowed.includes(r.verdict) === (e.op === '!='));
      const counts = new Map<string, number>();
      for (const r of results) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
      const actual = [...counts]
        .map(([v, n]) => (results.length > 1 ? `${v} ${n}/${results.length}` : v))
        .join(', ');
      return {
        expect: e.text,
        met: bad.length === 0 && errors.length === 0 && results.length > 0,
        actual: `${actual || 'no result'}${failedRuns}`,
      };
    }
    const def: MetricDef = EXPECT_METRICS[e.metric];
    const values = results.map((r) => def.of(r));
    const bound = e.value as number;
    // A duration that never came is later than any bound; an unknown count meets none.
    const meets = (v: number | null): boolean =>
      v === null
        ? def.kind === 'duration' && (e.op === '>' || e.op === '>=' || e.op === '!=')
        : compare(v, e.op, bound);
    if (e.stat !== null) {
      const v = results.length > 0 ? statOf(values, e.stat) : null;
      return {
        expect: e.text,
        met: results.length > 0 && errors.length === 0 && meets(v),
        actual: `${e.stat} ${results.length > 0 ? show(e, v) : 'no result'}${failedRuns}`,
      };
    }
    const missed = values.filter((v) => !meets(v));
    const actual =
      results.length === 0
        ? 'no result'
        : missed.length === 0
          ? results.length === 1
            ? show(e, values[0]!)
            : `${values.map((v) => show(e, v)).join(', ')}`
          : results.length === 1
            ? show(e, missed[0]!)
            : `${missed.map((v) => show(e, v)).join(', ')} in ${missed.length} of ${results.length} runs`;
    return {
      expect: e.text,
      met: missed.length === 0 && errors.length === 0 && results.length > 0,
      actual: `${actual}${failedRuns}`,
    };
  });
}

/** The help text's table of what can be expected. */
export const expectHelp = Object.entries(EXPECT_METRICS)
  .map(([name, def]) => `  ${name.padEnd(18)}${(def as MetricDef).help}`)
  .join('\n');
