/**
 * `halfopen compare --html`: the comparison as one self-contained page (inline CSS, no script,
 * nothing fetched), in the style of the matrix report. Regressions and verdict changes are
 * highlighted.
 */
import { formatMs } from '../util/duration.js';
import {
  cellLabel,
  improvementsOf,
  regressionsOf,
  verdictsText,
  type ComparedCell,
  type Comparison,
  type SummaryCell,
} from './compare.js';
import { deltaCount, deltaMs, sideText } from './compare-text.js';

const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const ms = (v: number | null | undefined): string =>
  v === null || v === undefined ? '-' : formatMs(v);
const n = (v: number | null | undefined): string =>
  v === null || v === undefined ? '-' : String(v);

/** The classes of a value's cell: what got worse or better there. */
function cls(x: ComparedCell, what: string): string {
  if (x.regressions.some((f) => f.what === what)) return ' class="worse"';
  if (x.improvements.some((f) => f.what === what)) return ' class="better"';
  return '';
}

function sideCells(c: SummaryCell | null): string[] {
  if (!c) return ['', '', '', '', '', '', ''];
  return [
    `${c.detected}/${c.runs}`,
    `${ms(c.detect_ms?.p50)}`,
    `${ms(c.detect_ms?.p95)} / ${ms(c.detect_ms?.max)}`,
    n(c.lost?.p50),
    n(c.stale_sent?.p50),
    ms(c.reconnect_ms?.p50),
    verdictsText(c),
  ];
}

function rows(x: ComparedCell): string {
  const b = sideCells(x.before);
  const a = sideCells(x.after);
  const d = x.deltas;
  const what = ['detected', 'detection', '', 'lost', '', 'reconnect', 'verdict'];
  const change = d
    ? ['', deltaMs(d.detect_p50, true), '', deltaCount(d.lost), deltaCount(d.stale_sent)]
    : [];
  if (d)
    change.push(
      deltaMs(d.reconnect),
      x.verdict_change ? (x.verdict_change.worse ? 'worse' : 'changed') : '',
    );
  const vc = x.verdict_change ? (x.verdict_change.worse ? ' vworse' : ' vchanged') : '';
  const rowClass = x.regressions.length ? 'regression' : x.improvements.length ? 'improved' : '';
  const only = !x.before ? ' (only after)' : !x.after ? ' (only before)' : '';
  const ident = x.identity_differs
    ? `<div class="note">compared though their identities differ: before ${esc(cellLabel(x.before!))}; after ${esc(cellLabel(x.after!))}</div>`
    : '';
  const td = (vals: string[], side: string): string =>
    vals
      .map((v, i) => {
        const c = side === 'after' ? cls(x, what[i]!) : '';
        const extra = i === 6 && side !== 'change' && vc ? ` class="${vc.trim()}"` : c;
        return `<td${extra}>${esc(v)}</td>`;
      })
      .join('');
  return [
    `<tr class="${rowClass}"><th rowspan="${d ? 3 : 1}" class="cell">${esc(x.label)}${only}${ident}</th><td>${x.before ? 'before' : 'after'}</td>${td(x.before ? b : a, x.before ? 'before' : 'after')}</tr>`,
    ...(d
      ? [
          `<tr class="${rowClass}"><td>after</td>${td(a, 'after')}</tr>`,
          `<tr class="${rowClass} change"><td>change</td>${td(change, 'change')}</tr>`,
        ]
      : []),
  ].join('\n');
}

export function renderCompareHtml(c: Comparison): string {
  const regressions = regressionsOf(c);
  const improvements = improvementsOf(c);
  const changes = c.cells.filter((x) => x.verdict_change);
  const list = (items: string[]): string =>
    items.length ? `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>` : '<p>none</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>compare - halfopen</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;white-space:nowrap}
th{background:#f3f3f3}th.cell{background:#fafafa;font-weight:normal;white-space:normal;max-width:28em}
tr.regression th.cell{border-left:4px solid #c23531}tr.improved th.cell{border-left:4px solid #2e7d32}
td.worse,td.vworse{background:#fdecea;font-weight:bold}td.better{background:#e8f5e9}td.vchanged{background:#fff8e1}
tr.change td{color:#555}.note{font-size:11px;color:#8a6d00}code{font-size:11px;color:#555}
ul.regressions li{color:#b71c1c}
</style></head><body>
<h1>halfopen compare</h1>
<p>before <code>${esc(sideText(c.before))}</code><br>after <code>${esc(sideText(c.after))}</code></p>
<p>Cells matched on ${esc(c.match.join(', '))}. A change counts beyond ${c.tolerance.pct} % and ${esc(formatMs(c.tolerance.ms))} (detection p50, reconnect) and beyond ${c.tolerance.loss} messages (lost).
<b>${regressions.length} regression${regressions.length === 1 ? '' : 's'}</b>, ${improvements.length} improvement${improvements.length === 1 ? '' : 's'}, ${changes.length} verdict change${changes.length === 1 ? '' : 's'}.</p>
<h2>Regressions</h2>
<div class="regressions">${list(regressions.map((f) => f.line)).replace('<ul>', '<ul class="regressions">')}</div>
<h2>Verdict changes</h2>
${list(changes.map((x) => `${x.label}: ${x.verdict_change!.before} -> ${x.verdict_change!.after}${x.verdict_change!.worse ? ' (worse)' : ''}`))}
<h2>Improvements</h2>
${list(improvements.map((f) => f.line))}
<h2>Cells</h2>
<table><thead><tr><th>cell</th><th></th><th>detected</th><th>detect p50</th><th>p95 / max</th><th>lost</th><th>stale</th><th>reconnect</th><th>verdicts</th></tr></thead><tbody>
${c.cells.map(rows).join('\n')}
</tbody></table>
</body></html>
`;
}
