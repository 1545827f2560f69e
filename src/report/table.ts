/**
 * The terminal table of a matrix: one line per cell. With repetitions, detection shows p50, p95
 * and max; loss, stale and reconnect show their median.
 */
import { formatMs } from '../util/duration.js';
import { predictedText, verdictText, type Cell, type Stats } from './cells.js';

const ms = (v: number | undefined): string => (v === undefined ? '-' : formatMs(v));
const count = (s: Stats | null): string => (s === null ? '-' : String(s.p50));

export function renderTable(cells: readonly Cell[]): string {
  const repeated = cells.some((c) => c.runs > 1);
  const head = [
    'fault',
    'target',
    'strategy',
    'workload',
    ...(repeated ? ['n', 'detect p50', 'p95', 'max'] : ['detect']),
    'predicted',
    'verdict',
    'lost',
    'stale',
    'reconnect',
  ];
  const body = cells.map((c) => [
    c.faultLabel,
    c.target,
    c.strategy,
    c.qos === null ? c.workload : `${c.workload} QoS ${c.qos}`,
    ...(repeated
      ? [String(c.runs), ms(c.detect?.p50), ms(c.detect?.p95), ms(c.detect?.max)]
      : [ms(c.detect?.p50)]),
    predictedText(c),
    verdictText(c),
    count(c.lost),
    count(c.stale_sent),
    ms(c.reconnect?.p50),
  ]);
  const errors = cells.flatMap((c) => c.errors.map((e) => `  ${c.client}, ${c.faultLabel}: ${e}`));
  return [...alignColumns(head, body), ...(errors.length ? ['', 'errors:', ...errors] : [])].join(
    '\n',
  );
}

/**
 * Rows of text cells in columns two spaces apart, each as wide as its widest cell: the heading,
 * a rule of dashes, then the body. `compare` lays out its tables with it too.
 */
export function alignColumns(head: readonly string[], body: readonly string[][]): string[] {
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)),
  );
  const fmt = (cells: readonly string[]): string =>
    widths
      .map((w, i) => (cells[i] ?? '').padEnd(w))
      .join('  ')
      .trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)];
}
