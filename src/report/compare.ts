/**
 * `halfopen compare`: two sets of results, before and after, matched cell by cell and judged.
 * Each side is a matrix's summary.json (or its directory) or one run's result.json (or its
 * directory), which counts as a summary of one cell. No output here: loading, matching and
 * judging only; compare-text.ts and compare-html.ts print what this finds.
 */
import type { Verdict } from '../advise/predict.js';
import { BadInputError } from '../errors.js';
import { formatMs } from '../util/duration.js';
import type { Summary } from './summary.js';

export type SummaryCell = Summary['cells'][number];

/** One side of the comparison, as it was read. */
export interface Side {
  /** The path as the user typed it. */
  path: string;
  /** The file that was read (summary.json or result.json). */
  file: string;
  kind: 'matrix' | 'run';
  title: string;
  run_id: string | null;
  started_at: string | null;
  cells: SummaryCell[];
}

/** What makes a cell the same question on both sides; `fault` is the fault with its heal or restart. */
export const IDENTITY_FIELDS = [
  'testbed',
  'target',
  'strategy',
  'workload',
  'qos',
  'fault',
] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

export interface Tolerance {
  /** A slower detection or reconnect must exceed this percentage of the before value... */
  pct: number;
  /** ...and this many ms, to count. */
  ms: number;
  /** More messages lost (median) than this many is a regression. */
  loss: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { pct: 20, ms: 250, loss: 0 };

/**
 * Verdicts from best to worst, for "did it get worse". A measurement that agrees with its
 * prediction, or detects earlier, or that had none to agree with, is fine (0). Late is a miss of
 * the window (1). A window beyond the deadline says the run was too short to see it (2). Not
 * detecting at all though the window said it would is worse (3). Detecting what was predicted
 * never means the model of the client is wrong, so no window of it can be trusted (4). A fault
 * that was not in force measured nothing at all (5).
 */
export const VERDICT_RANK: Record<Verdict, number> = {
  inside: 0,
  early: 0,
  'not detected (as predicted)': 0,
  'measured (no prediction)': 0,
  late: 1,
  'beyond deadline': 2,
  'not detected': 3,
  'detected (predicted never)': 4,
  'fault not in force': 5,
};

const rankOf = (v: string): number =>
  Object.hasOwn(VERDICT_RANK, v) ? VERDICT_RANK[v as Verdict] : 0;

export interface Finding {
  /** What changed: detected, detection, verdict, lost, reconnect, result. */
  what: string;
  /** The cell, as a person reads it. */
  cell: string;
  before: string;
  after: string;
  /** The one line that says it. */
  line: string;
}

export interface Delta {
  before: number | null;
  after: number | null;
  /** after - before; null when either side has no value. */
  delta: number | null;
  /** The delta in percent of before; null when before is 0 or missing. */
  pct: number | null;
}

export interface ComparedCell {
  /** The cell, as a person reads it; "a -> b" where the two identities differ. */
  label: string;
  before: SummaryCell | null;
  after: SummaryCell | null;
  /** Set when the two cells were compared though their full identities differ. */
  identity_differs: boolean;
  deltas: {
    detect_p50: Delta;
    detect_p95: Delta;
    detect_max: Delta;
    lost: Delta;
    stale_sent: Delta;
    reconnect: Delta;
  } | null;
  regressions: Finding[];
  improvements: Finding[];
  verdict_change: { before: string; after: string; worse: boolean } | null;
}

export interface Comparison {
  before: Side;
  after: Side;
  match: IdentityField[];
  tolerance: Tolerance;
  cells: ComparedCell[];
}

const quote = (p: string): string => `'${p}'`;

/** `--match target,fault,workload` -> the fields; unknown ones are bad input. */
export function parseMatch(text: string | undefined): IdentityField[] {
  if (text === undefined) return [...IDENTITY_FIELDS];
  const fields = text.split(',').map((f) => f.trim());
  for (const f of fields)
    if (!(IDENTITY_FIELDS as readonly string[]).includes(f))
      throw new BadInputError(
        `--match: '${f}' is not a cell field (expected some of ${IDENTITY_FIELDS.join(',')})`,
      );
  return [...new Set(fields)] as IdentityField[];
}

const fieldOf = (c: SummaryCell, f: IdentityField): string =>
  f === 'fault' ? c.fault_label : f === 'qos' ? (c.qos === null ? '-' : `QoS ${c.qos}`) : c[f];

/** "tcp none publish:10 partition healed at 4 s" (the testbed only when not netns). */
export function cellLabel(c: SummaryCell): string {
  const qos = c.qos === null ? '' : ` QoS ${c.qos}`;
  return `${c.target} ${c.strategy} ${c.workload}${qos} ${c.fault_label}${c.testbed === 'netns' ? '' : ` (${c.testbed})`}`;
}

/** Both identities in one label: each field once where they agree, "a -> b" where they differ. */
function pairLabel(b: SummaryCell, a: SummaryCell): string {
  const part = (x: string, y: string): string => (x === y ? x : `(${x} -> ${y})`);
  const qos = (c: SummaryCell): string => (c.qos === null ? '' : `QoS ${c.qos}`);
  const parts = [
    part(b.target, a.target),
    part(b.strategy, a.strategy),
    part(b.workload, a.workload),
    part(qos(b), qos(a)),
    part(b.fault_label, a.fault_label),
  ].filter(Boolean);
  const bed = b.testbed === a.testbed ? b.testbed : `${b.testbed} -> ${a.testbed}`;
  return `${parts.join(' ')}${bed === 'netns' ? '' : ` (${bed})`}`;
}

export function compareSides(
  before: Side,
  after: Side,
  match: IdentityField[] = [...IDENTITY_FIELDS],
  tolerance: Tolerance = DEFAULT_TOLERANCE,
): Comparison {
  const key = (c: SummaryCell): string => match.map((f) => fieldOf(c, f)).join('|');
  const pairs: [SummaryCell | null, SummaryCell | null][] = [];
  if (before.cells.length === 1 && after.cells.length === 1) {
    // One cell each: that is the comparison asked for, whatever the identities say.
    pairs.push([before.cells[0]!, after.cells[0]!]);
  } else {
    const group = (side: Side): Map<string, SummaryCell[]> => {
      const m = new Map<string, SummaryCell[]>();
      for (const c of side.cells) m.set(key(c), [...(m.get(key(c)) ?? []), c]);
      return m;
    };
    const b = group(before);
    const a = group(after);
    for (const c of before.cells) {
      const bs = b.get(key(c))!;
      const as = a.get(key(c)) ?? [];
      if (as.length === 0) pairs.push([c, null]);
      else if (bs.length === 1 && as.length === 1) pairs.push([c, as[0]!]);
      else {
        const many = bs.length > 1 ? bs : as;
        throw new BadInputError(
          `compare: with --match ${match.join(',')}, ${many.length} cells of ${quote(bs.length > 1 ? before.path : after.path)} are alike (${many.map(cellLabel).join('; ')}): add fields to --match`,
        );
      }
    }
    for (const c of after.cells) if (!b.has(key(c))) pairs.push([null, c]);
  }
  return {
    before,
    after,
    match,
    tolerance,
    cells: pairs.map(([b, a]) => judgeCell(b, a, tolerance)),
  };
}

const delta = (b: number | null | undefined, a: number | null | undefined): Delta => {
  const bv = b ?? null;
  const av = a ?? null;
  const d = bv === null || av === null ? null : av - bv;
  return {
    before: bv,
    after: av,
    delta: d,
    pct: d === null || !bv ? null : Math.round((d / bv) * 1000) / 10,
  };
};

const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n}`;
const pctText = (d: Delta): string => (d.pct === null ? '' : `${signed(Math.round(d.pct))} %, `);
const rate = (c: SummaryCell): number => {
  const valid = c.runs - c.errors.length;
  return valid > 0 ? c.detected / valid : 0;
};

/** The worst verdict of a cell and the share of its repetitions that had it. */
function worst(c: SummaryCell): { verdict: string; rank: number; share: number } | null {
  const entries = Object.entries(c.verdicts);
  if (entries.length === 0) return null;
  const [verdict, n] = entries.reduce((w, e) => (rankOf(e[0]) > rankOf(w[0]) ? e : w));
  const total = entries.reduce((s, [, k]) => s + k, 0);
  return { verdict, rank: rankOf(verdict), share: n / total };
}

/** "inside", or "inside 2/3, late 1/3" when repetitions disagree (as the matrix table says it). */
export function verdictsText(c: SummaryCell): string {
  const entries = Object.entries(c.verdicts).sort((x, y) => y[1] - x[1]);
  if (entries.length === 0) return c.errors.length ? 'error' : '-';
  if (entries.length === 1 && c.errors.length === 0) return entries[0]![0];
  const parts = entries.map(([v, k]) => `${v} ${k}/${c.runs}`);
  if (c.errors.length) parts.push(`error ${c.errors.length}/${c.runs}`);
  return parts.join(', ');
}

/** The same verdicts in the same proportions of the repetitions (errors counted too). */
function sameShares(b: SummaryCell, a: SummaryCell): boolean {
  const shares = (c: SummaryCell): string =>
    JSON.stringify(
      Object.entries({ ...c.verdicts, ...(c.errors.length ? { error: c.errors.length } : {}) })
        .map(([v, n]) => [v, Math.round((n / c.runs) * 1000)])
        .sort(),
    );
  return shares(b) === shares(a);
}

export function judgeCell(
  b: SummaryCell | null,
  a: SummaryCell | null,
  tol: Tolerance,
): ComparedCell {
  const differs =
    b !== null && a !== null && IDENTITY_FIELDS.some((f) => fieldOf(b, f) !== fieldOf(a, f));
  const label = b && a ? (differs ? pairLabel(b, a) : cellLabel(b)) : cellLabel((b ?? a)!);
  const out: ComparedCell = {
    label,
    before: b,
    after: a,
    identity_differs: differs,
    deltas: null,
    regressions: [],
    improvements: [],
    verdict_change: null,
  };
  if (!b || !a) return out;
  const d = {
    detect_p50: delta(b.detect_ms?.p50, a.detect_ms?.p50),
    detect_p95: delta(b.detect_ms?.p95, a.detect_ms?.p95),
    detect_max: delta(b.detect_ms?.max, a.detect_ms?.max),
    lost: delta(b.lost?.p50, a.lost?.p50),
    stale_sent: delta(b.stale_sent?.p50, a.stale_sent?.p50),
    reconnect: delta(b.reconnect_ms?.p50, a.reconnect_ms?.p50),
  };
  out.deltas = d;
  const find = (what: string, before: string, after: string, how = ''): Finding => ({
    what,
    cell: label,
    before,
    after,
    line: `${label}: ${what} ${before} -> ${after}${how ? ` (${how})` : ''}`,
  });
  const bValid = b.runs - b.errors.length;
  const aValid = a.runs - a.errors.length;
  if (bValid > 0 && aValid === 0) {
    out.regressions.push(find('result', `${bValid}/${b.runs} runs`, 'none', a.errors[0] ?? ''));
    return out;
  }
  // Detected in fewer of its repetitions than before: some run did not notice at all.
  const frac = (c: SummaryCell): string => `${c.detected}/${c.runs - c.errors.length}`;
  if (aValid > 0 && bValid > 0 && rate(a) !== rate(b))
    (rate(a) < rate(b) ? out.regressions : out.improvements).push(
      find('detected', frac(b), frac(a)),
    );
  // Slower beyond both the percentage and the floor.
  const beyond = (x: Delta): number => {
    if (x.delta === null || x.before === null) return 0;
    const limit = Math.max((Math.abs(x.before) * tol.pct) / 100, tol.ms);
    return x.delta > limit ? 1 : x.delta < -limit ? -1 : 0;
  };
  const timing = (what: string, x: Delta): void => {
    const dir = beyond(x);
    if (dir === 0) return;
    const f = find(
      what,
      formatMs(x.before!),
      formatMs(x.after!),
      `${pctText(x)}tolerance ${tol.pct} % and ${formatMs(tol.ms)}`,
    );
    (dir > 0 ? out.regressions : out.improvements).push(f);
  };
  timing('detection', d.detect_p50);
  timing('reconnect', d.reconnect);
  if (d.reconnect.before !== null && d.reconnect.after === null)
    out.regressions.push(find('reconnect', formatMs(d.reconnect.before), 'none'));
  if (d.reconnect.before === null && d.reconnect.after !== null && b.fault_label === a.fault_label)
    out.improvements.push(find('reconnect', 'none', formatMs(d.reconnect.after)));
  if (d.lost.delta !== null && Math.abs(d.lost.delta) > tol.loss)
    (d.lost.delta > 0 ? out.regressions : out.improvements).push(
      find(
        'lost',
        String(d.lost.before),
        String(d.lost.after),
        `${signed(d.lost.delta)}, tolerance ${tol.loss}`,
      ),
    );
  const wb = worst(b);
  const wa = worst(a);
  if (wb && wa) {
    const worse = wa.rank > wb.rank || (wa.rank === wb.rank && wa.rank > 0 && wa.share > wb.share);
    const better = wa.rank < wb.rank || (wa.rank === wb.rank && wa.rank > 0 && wa.share < wb.share);
    const vb = verdictsText(b);
    const va = verdictsText(a);
    if (!sameShares(b, a)) out.verdict_change = { before: vb, after: va, worse };
    if (worse) out.regressions.push(find('verdict', vb, va));
    else if (better) out.improvements.push(find('verdict', vb, va));
  }
  return out;
}

export const regressionsOf = (c: Comparison): Finding[] => c.cells.flatMap((x) => x.regressions);
export const improvementsOf = (c: Comparison): Finding[] => c.cells.flatMap((x) => x.improvements);
