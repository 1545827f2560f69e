/**
 * `halfopen compare` as a person reads it: both sides named, then per cell its before and after
 * side by side with the change, then every regression, improvement and verdict change in one
 * line each. And the same as one JSON object for machines.
 */
import { formatMs } from '../util/duration.js';
import {
  cellLabel,
  improvementsOf,
  regressionsOf,
  verdictsText,
  type ComparedCell,
  type Comparison,
  type Delta,
  type Side,
  type SummaryCell,
} from './compare.js';
import { alignColumns } from './table.js';

const ms = (v: number | null | undefined): string =>
  v === null || v === undefined ? '-' : formatMs(v);
const count = (v: number | null | undefined): string =>
  v === null || v === undefined ? '-' : String(v);
const plus = (v: number): string => (v > 0 ? '+' : v < 0 ? '-' : '+');

/** "+11.02 s", "-4 ms"; "" when there is nothing to subtract. */
export function deltaMs(d: Delta, withPct = false): string {
  if (d.delta === null) return '';
  const pct = withPct && d.pct !== null ? ` (${d.pct >= 0 ? '+' : ''}${Math.round(d.pct)} %)` : '';
  return `${plus(d.delta)}${formatMs(Math.abs(d.delta))}${pct}`;
}

export const deltaCount = (d: Delta): string =>
  d.delta === null ? '' : `${d.delta >= 0 ? '+' : ''}${d.delta}`;

export function sideText(s: Side): string {
  const cells = `${s.cells.length} cell${s.cells.length === 1 ? '' : 's'}`;
  const runs = s.cells.reduce((n, c) => n + c.runs, 0);
  if (s.kind === 'run') return `${s.path} (one run: ${s.title})`;
  const when = [s.run_id ? `run ${s.run_id}` : '', s.started_at ?? ''].filter(Boolean).join(', ');
  return `${s.path} (matrix "${s.title}", ${cells}, ${runs} experiments${when ? `, ${when}` : ''})`;
}

const sideRow = (name: string, c: SummaryCell): string[] => [
  name,
  String(c.runs),
  `${c.detected}/${c.runs}`,
  ms(c.detect_ms?.p50),
  ms(c.detect_ms?.p95),
  ms(c.detect_ms?.max),
  count(c.lost?.p50),
  count(c.stale_sent?.p50),
  ms(c.reconnect_ms?.p50),
  verdictsText(c),
];

function changeRow(x: ComparedCell): string[] {
  const d = x.deltas!;
  const v = x.verdict_change;
  return [
    'change',
    '',
    '',
    deltaMs(d.detect_p50, true),
    deltaMs(d.detect_p95),
    deltaMs(d.detect_max),
    deltaCount(d.lost),
    deltaCount(d.stale_sent),
    deltaMs(d.reconnect),
    v ? (v.worse ? 'worse' : 'changed') : '',
  ];
}

/** What a cell's heading says about it. */
function mark(x: ComparedCell): string {
  if (!x.before) return '  (only after)';
  if (!x.after) return '  (only before)';
  if (x.regressions.length) return `  REGRESSION: ${x.regressions.map((f) => f.what).join(', ')}`;
  if (x.improvements.length) return `  improved: ${x.improvements.map((f) => f.what).join(', ')}`;
  return '';
}

export function renderComparison(c: Comparison): string {
  const head = ['', 'n', 'detected', 'detect p50', 'p95', 'max', 'lost', 'stale', 'reconnect'];
  head.push('verdicts');
  const groups = c.cells.map((x) => {
    const rows: string[][] = [];
    if (x.before) rows.push(sideRow('before', x.before));
    if (x.after) rows.push(sideRow('after', x.after));
    if (x.deltas) rows.push(changeRow(x));
    return rows;
  });
  const [top, rule, ...body] = alignColumns(head, groups.flat()).map((l) => `  ${l}`);
  const lines = [
    `before  ${sideText(c.before)}`,
    `after   ${sideText(c.after)}`,
    `cells matched on ${c.match.join(', ')}; a change counts beyond ${c.tolerance.pct} % and ${formatMs(c.tolerance.ms)} (detection p50, reconnect), beyond ${c.tolerance.loss} messages (lost)`,
    '',
    top!,
    rule!,
  ];
  let at = 0;
  c.cells.forEach((x, i) => {
    lines.push(`${x.label}${mark(x)}`);
    if (x.identity_differs) {
      lines.push('  the only cell on each side, compared though their identities differ:');
      lines.push(`    before: ${cellLabel(x.before!)} (${x.before!.testbed})`);
      lines.push(`    after:  ${cellLabel(x.after!)} (${x.after!.testbed})`);
    }
    lines.push(...body.slice(at, at + groups[i]!.length));
    at += groups[i]!.length;
  });
  const regressions = regressionsOf(c);
  const improvements = improvementsOf(c);
  const changes = c.cells.filter((x) => x.verdict_change);
  const list = (title: string, items: string[]): string[] =>
    items.length ? ['', `${title} (${items.length}):`, ...items.map((l) => `  ${l}`)] : [];
  lines.push(
    ...list(
      'regressions',
      regressions.map((f) => f.line),
    ),
    ...list(
      'improvements',
      improvements.map((f) => f.line),
    ),
    ...list(
      'verdict changes',
      changes.map(
        (x) =>
          `${x.label}: ${x.verdict_change!.before} -> ${x.verdict_change!.after}${x.verdict_change!.worse ? ' (worse)' : ''}`,
      ),
    ),
  );
  const one = c.cells.filter((x) => !x.before || !x.after).length;
  lines.push(
    '',
    `${regressions.length === 0 ? 'no regressions' : `${regressions.length} regression${regressions.length === 1 ? '' : 's'}`}, ${improvements.length} improvement${improvements.length === 1 ? '' : 's'}${one ? `, ${one} cell${one === 1 ? '' : 's'} on one side only` : ''}`,
  );
  return lines.join('\n');
}

/** The comparison as one object: both sides, every cell with both values and deltas, findings. */
export function comparisonJson(c: Comparison): Record<string, unknown> {
  const meta = (s: Side): Record<string, unknown> => ({
    path: s.path,
    file: s.file,
    kind: s.kind,
    title: s.title,
    run_id: s.run_id,
    started_at: s.started_at,
    cells: s.cells.length,
  });
  return {
    before: meta(c.before),
    after: meta(c.after),
    match: c.match,
    tolerance: { pct: c.tolerance.pct, ms: c.tolerance.ms, loss: c.tolerance.loss },
    cells: c.cells,
    regressions: regressionsOf(c),
    improvements: improvementsOf(c),
    verdict_changes: c.cells.flatMap((x) =>
      x.verdict_change ? [{ cell: x.label, ...x.verdict_change }] : [],
    ),
    only_before: c.cells.filter((x) => !x.after).map((x) => x.label),
    only_after: c.cells.filter((x) => !x.before).map((x) => x.label),
  };
}
