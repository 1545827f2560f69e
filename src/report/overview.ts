/**
 * What the report's first screen says, as data (pure): the banner (what matters, in a few numbers)
 * and the heatmap (clients x faults, one square per cell). src/report/overview-html.ts draws them;
 * test/report.test.ts checks them on constructed cells and against a real matrix.
 */
import { formatMs } from '../util/duration.js';
import { predictedText, type Cell } from './cells.js';
import { VERDICT_STYLE, worstOf, worstSeverity, type Severity, type Shown } from './verdicts.js';

/** The verdicts of a client that never noticed the failure (as opposed to noticing it late). */
const MISSED: readonly Shown[] = ['not detected', 'beyond deadline', 'not detected (as predicted)'];

export type BannerKey =
  | 'undetected'
  | 'late'
  | 'early'
  | 'surprise'
  | 'lost'
  | 'slowest'
  | 'failed'
  | 'not-in-force'
  | 'expect-missed';

export interface BannerItem {
  key: BannerKey;
  /** The large number or phrase: "4", "240", "3.31 s". */
  value: string;
  /** What it counts: "cells never noticed the failure within the 12 s deadline". */
  text: string;
  severity: Severity;
  /** The verdicts it counts, with how many cells had each (experiments, for 'error'). */
  verdicts: [Shown, number][];
}

/** Which verdicts each tile counts, shown as chips under its number. */
const COUNTS: Partial<Record<BannerKey, readonly Shown[]>> = {
  undetected: MISSED,
  late: ['late'],
  early: ['early'],
  surprise: ['detected (predicted never)'],
  'not-in-force': ['fault not in force'],
};

export interface Banner {
  severity: Severity;
  /** One sentence: the worst news first, or that all is well. */
  headline: string;
  items: BannerItem[];
  /** The numbers behind the items, for tests and machines. */
  numbers: {
    cells: number;
    experiments: number;
    undetected: number;
    late: number;
    early: number;
    surprise: number;
    lost: number;
    /** The cell that lost the most, summed over its repetitions. */
    mostLost: { lost: number; cell: string } | null;
    failed: number;
    notInForce: number;
    /** Cells given expectations (--expect, expect:), and how many missed one. */
    expected: number;
    expectMissed: number;
    slowest: { ms: number; cell: string } | null;
  };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Cells that had `v` in at least one repetition. */
const withVerdict = (cells: readonly Cell[], vs: readonly Shown[]): number =>
  cells.filter((c) => c.verdicts.some(([v]) => vs.includes(v))).length;

/** The cell as one phrase: "tcp none, publish:10, node-loss". */
export const cellName = (c: Cell): string => `${c.client}, ${c.workload}, ${c.faultLabel}`;

/** A deadline as a user wrote it: "12 s", "2.5 s". */
const seconds = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;

/** "the 12 s deadline" when every experiment had the same one, else "their deadlines". */
function deadlineText(cells: readonly Cell[]): string {
  const ds = new Set(cells.flatMap((c) => c.results.map((r) => r.deadline_ms)));
  return ds.size === 1 ? `the ${seconds([...ds][0]!)} deadline` : 'their deadlines';
}

export function bannerOf(cells: readonly Cell[]): Banner {
  const results = cells.flatMap((c) => c.results.map((r) => ({ c, r })));
  let slowest: Banner['numbers']['slowest'] = null;
  for (const { c, r } of results)
    if (r.detect_ms !== null && (slowest === null || r.detect_ms > slowest.ms))
      slowest = { ms: r.detect_ms, cell: cellName(c) };
  let mostLost: Banner['numbers']['mostLost'] = null;
  for (const c of cells) {
    const lost = c.results.reduce((k, r) => k + r.lost, 0);
    if (lost > 0 && (mostLost === null || lost > mostLost.lost))
      mostLost = { lost, cell: cellName(c) };
  }
  const n = {
    cells: cells.length,
    experiments: cells.reduce((k, c) => k + c.runs, 0),
    // Verdicts aside, a client without a prediction can miss the failure too.
    undetected: cells.filter(
      (c) =>
        c.verdicts.some(([v]) => MISSED.includes(v)) ||
        c.results.some((r) => r.detect_ms === null && r.verdict !== 'fault not in force'),
    ).length,
    late: withVerdict(cells, ['late']),
    early: withVerdict(cells, ['early']),
    surprise: withVerdict(cells, ['detected (predicted never)']),
    lost: results.reduce((k, { r }) => k + r.lost, 0),
    mostLost,
    failed: cells.reduce((k, c) => k + c.errors.length, 0),
    notInForce: withVerdict(cells, ['fault not in force']),
    expected: cells.filter((c) => c.expect.length > 0).length,
    expectMissed: cells.filter((c) => c.expect.some((e) => !e.met)).length,
    slowest,
  };
  const of = `of ${n.cells}`;
  const someRuns = cells.some((c) => c.runs > 1) ? ' (in at least one repetition)' : '';
  const items: Omit<BannerItem, 'verdicts'>[] = [
    ...(n.expected
      ? [
          {
            key: 'expect-missed' as const,
            value: String(n.expectMissed),
            text: `of ${n.expected} cells given expectations missed one`,
            severity: n.expectMissed ? ('bad' as const) : ('ok' as const),
          },
        ]
      : []),
    {
      key: 'undetected',
      value: String(n.undetected),
      text: `${of} cells never noticed the failure within ${deadlineText(cells)}${someRuns}`,
      severity: n.undetected ? 'bad' : 'ok',
    },
    {
      key: 'late',
      value: String(n.late),
      text: `${of} cells noticed it late, after the predicted window${someRuns}`,
      severity: n.late ? 'warn' : 'ok',
    },
    ...(n.early
      ? [
          {
            key: 'early' as const,
            value: String(n.early),
            text: `${of} cells noticed it before the predicted window`,
            severity: 'warn' as const,
          },
        ]
      : []),
    ...(n.surprise
      ? [
          {
            key: 'surprise' as const,
            value: String(n.surprise),
            text: `${of} cells noticed it though predicted never to`,
            severity: 'warn' as const,
          },
        ]
      : []),
    {
      key: 'lost',
      value: String(n.lost),
      text: `messages lost (accepted, never delivered), summed over ${plural(n.experiments, 'experiment')}${n.mostLost ? `; most: ${n.mostLost.lost} in ${n.mostLost.cell}` : ''}`,
      severity: n.lost ? 'bad' : 'ok',
    },
    {
      key: 'slowest',
      value: n.slowest ? formatMs(n.slowest.ms) : '-',
      text: n.slowest ? `slowest detection: ${n.slowest.cell}` : 'nothing was detected',
      severity: 'info',
    },
    {
      key: 'failed',
      value: String(n.failed),
      text: `of ${n.experiments} experiments failed (lab errors)`,
      severity: n.failed ? 'error' : 'ok',
    },
    {
      key: 'not-in-force',
      value: String(n.notInForce),
      text: `${of} cells: fault not in force (nothing was cut)`,
      severity: n.notInForce ? 'void' : 'ok',
    },
  ];
  const verdictsOf = (key: BannerKey): [Shown, number][] =>
    key === 'failed'
      ? n.failed
        ? [['error', n.failed]]
        : []
      : (COUNTS[key] ?? [])
          .map((v): [Shown, number] => [v, withVerdict(cells, [v])])
          .filter(([, k]) => k > 0);
  return {
    // The slowest detection informs; it does not colour the banner.
    severity: worstSeverity(items.filter((i) => i.key !== 'slowest').map((i) => i.severity)),
    headline: headline(n, cells),
    items: items.map((i) => ({ ...i, verdicts: verdictsOf(i.key) })),
    numbers: n,
  };
}

function headline(n: Banner['numbers'], cells: readonly Cell[]): string {
  const bad = [
    n.expectMissed && `${plural(n.expectMissed, 'cell')} missed an expectation`,
    n.undetected && `${plural(n.undetected, 'cell')} never noticed the failure`,
    n.late && `${plural(n.late, 'cell')} noticed it late`,
    n.early && `${plural(n.early, 'cell')} early`,
    n.surprise && `${plural(n.surprise, 'cell')} noticed it against the prediction`,
    `${n.lost === 0 ? 'nothing' : plural(n.lost, 'message')} lost`,
    n.failed && `${plural(n.failed, 'experiment')} failed`,
    n.notInForce && `${plural(n.notInForce, 'cell')} with the fault not in force`,
  ].filter((s): s is string => typeof s === 'string');
  if (bad.length > 1 || n.lost > 0) return `${bad.join('; ')}.`;
  const unjudged = withVerdict(cells, ['measured (no prediction)']);
  return unjudged
    ? `Every cell noticed the failure, within its predicted window or (${plural(unjudged, 'cell')}) with none to judge by; nothing lost.`
    : 'Every cell noticed the failure within its predicted window; nothing lost.';
}

export interface HeatCell {
  cell: Cell;
  /** The worst verdict among the repetitions (or 'error'): the square's colour. */
  worst: Shown | null;
  /** "late", or "late 1/3" when the repetitions disagree. */
  verdict: string;
  /** Detection p50, or "none by 12 s" (the deadline). */
  detect: string;
  /** Messages lost, median over the repetitions. */
  lost: string;
  /** An expectation given for the cell was missed. */
  expectMissed: boolean;
  /** The full details, for the hover text. */
  title: string;
}

export interface HeatRow {
  /** The client: target, strategy, QoS. */
  client: string;
  /** The workload, and the testbed when the matrix has several. */
  sub: string;
  cells: (HeatCell | null)[];
}

export interface Heatmap {
  /** The faults, each with its heal or restart, in matrix order. */
  faults: string[];
  rows: HeatRow[];
}

/** The shown verdicts of a cell with their counts, errors last. */
function shownCounts(c: Cell): [Shown, number][] {
  return [
    ...c.verdicts,
    ...(c.errors.length ? [['error', c.errors.length] as [Shown, number]] : []),
  ];
}

function heatCell(c: Cell): HeatCell {
  const counts = shownCounts(c);
  const worst = worstOf(counts.map(([v]) => v));
  const k = counts.find(([v]) => v === worst)?.[1] ?? 0;
  const ms = (s: Cell['detect'], what: string): string =>
    s
      ? `${what} p50 ${formatMs(s.p50)}, p95 ${formatMs(s.p95)}, max ${formatMs(s.max)}`
      : `${what} -`;
  const title = [
    `${cellName(c)} (${c.testbed})`,
    `verdicts: ${counts.map(([v, m]) => `${v} ${m}/${c.runs}`).join(', ') || '-'}`,
    `${ms(c.detect, 'detection')} (${c.detected} of ${c.runs} detected)`,
    `predicted ${predictedText(c)}`,
    `lost median ${c.lost?.p50 ?? '-'}, total ${c.results.reduce((m, r) => m + r.lost, 0)}; stale median ${c.stale_sent?.p50 ?? '-'}`,
    `reconnect ${c.reconnect ? `p50 ${formatMs(c.reconnect.p50)}` : '-'}`,
    ...c.expect.map((e) => `expect ${e.expect}: ${e.met ? 'met' : 'missed'} (${e.actual})`),
    ...c.errors.map((e) => `error: ${e}`),
  ].join('\n');
  return {
    cell: c,
    worst,
    verdict: worst === null ? '-' : counts.length > 1 ? `${worst} ${k}/${c.runs}` : worst,
    detect: c.detect
      ? formatMs(c.detect.p50)
      : c.results[0]
        ? `none by ${seconds(c.results[0].deadline_ms)}`
        : '-',
    lost: c.lost ? String(c.lost.p50) : '-',
    expectMissed: c.expect.some((e) => !e.met),
    title,
  };
}

/**
 * One row per client and workload (and testbed, when the matrix has several): a client's
 * workloads and QoS levels are separate rows, so that every square is exactly one matrix cell.
 */
export function heatmapOf(cells: readonly Cell[]): Heatmap {
  const faults = [...new Set(cells.map((c) => c.faultLabel))];
  const testbeds = new Set(cells.map((c) => c.testbed)).size > 1;
  const rows = new Map<string, HeatRow>();
  for (const c of cells) {
    // The cell's key without its fault: everything else that sets the cells apart.
    const rowKey = c.key.slice(0, c.key.length - c.faultLabel.length);
    let row = rows.get(rowKey);
    if (!row) {
      const sub = testbeds ? `${c.workload}, ${c.testbed}` : c.workload;
      row = { client: c.client, sub, cells: faults.map(() => null) };
      rows.set(rowKey, row);
    }
    row.cells[faults.indexOf(c.faultLabel)] = heatCell(c);
  }
  return { faults, rows: [...rows.values()] };
}

/** The symbol and words of a verdict, e.g. "» late 1/3". */
export const verdictWords = (v: Shown, text: string = v): string =>
  `${VERDICT_STYLE[v].symbol} ${text}`;
