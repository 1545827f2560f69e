/**
 * The report's first screen as HTML: the banner, the heatmap and the legend of the verdicts' colours,
 * and the verdict chips the table uses. Plain HTML and CSS (no script): a heatmap square's details
 * are its hover text (title), and the heatmap scrolls inside its own box on a narrow screen.
 */
import { bannerOf, heatmapOf, verdictWords, type HeatCell } from './overview.js';
import type { Cell } from './cells.js';
import {
  SHOWN,
  VERDICT_STYLE,
  WORST_FIRST,
  verdictClass,
  verdictCss,
  type Shown,
} from './verdicts.js';

export const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A verdict as a coloured chip with its symbol: `» late 1/3`. */
export const chip = (v: Shown, text: string = v): string =>
  `<span class="chip ${verdictClass(v)}" data-verdict="${esc(v)}">${esc(verdictWords(v, text))}</span>`;

/** The table's verdict column: one chip per verdict, with counts when repetitions disagree. */
export function verdictChips(c: Cell): string {
  const counts: [Shown, number][] = [
    ...c.verdicts,
    ...(c.errors.length ? [['error', c.errors.length] as [Shown, number]] : []),
  ];
  if (counts.length === 0) return '-';
  if (counts.length === 1 && counts[0]![0] !== 'error') return chip(counts[0]![0]);
  return counts.map(([v, k]) => chip(v, `${v} ${k}/${c.runs}`)).join(' ');
}

export function bannerHtml(cells: readonly Cell[]): string {
  const b = bannerOf(cells);
  const items = b.items.map(
    (i) =>
      `<div class="tile sev-${i.severity}" data-k="${i.key}"><b class="n">${esc(i.value)}</b> <span>${esc(i.text)}</span>${i.verdicts.length ? `<span class="chips">${i.verdicts.map(([v, k]) => chip(v, `${v}: ${k}`)).join(' ')}</span>` : ''}</div>`,
  );
  return `<section class="banner b-${b.severity}" data-severity="${b.severity}"><p class="headline">${esc(b.headline)}</p><div class="tiles">${items.join('')}</div></section>`;
}

function square(h: HeatCell | null): string {
  if (h === null) return '<td class="hm empty">-</td>';
  const cls = h.worst === null ? '' : verdictClass(h.worst);
  const verdict = h.worst === null ? '-' : esc(verdictWords(h.worst, h.verdict));
  const c = h.cell;
  const data = `data-client="${esc(c.client)}" data-workload="${esc(c.workload)}" data-fault="${esc(c.faultLabel)}" data-verdict="${esc(h.worst ?? '')}"`;
  return `<td class="hm ${cls}" ${data} title="${esc(h.title)}"><span class="vw">${verdict}</span><span class="d">${esc(h.detect)}</span><span class="l${h.lost === '0' || h.lost === '-' ? '' : ' lost'}">${esc(h.lost)} lost</span>${h.expectMissed ? '<span class="x">✗ expectation missed</span>' : ''}</td>`;
}

export function heatmapHtml(cells: readonly Cell[]): string {
  const m = heatmapOf(cells);
  const head = m.faults.map((f) => `<th scope="col">${esc(f)}</th>`).join('');
  const rows = m.rows.map(
    (r) =>
      `<tr><th scope="row">${esc(r.client)}<small>${esc(r.sub)}</small></th>${r.cells.map(square).join('')}</tr>`,
  );
  return `<div class="scroll heatmap-box"><table class="heatmap"><thead><tr><th>client \\ fault</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>
<p class="note">Each square is one cell of the matrix: its verdict, detection time (median over the repetitions, from the fault) and messages lost (median). Its colour is the <b>worst</b> verdict among its repetitions, in this order: ${WORST_FIRST.map(esc).join(' &gt; ')}; "late 1/3" says how many repetitions had it. Hover over a square for the counts, the predicted window and the reconnect time.</p>`;
}

export function legendHtml(): string {
  // Best first, as a scale.
  const items = [...WORST_FIRST]
    .reverse()
    .map((v) => `<li>${chip(v)} ${esc(VERDICT_STYLE[v].meaning)}</li>`);
  const missing = SHOWN.filter((v) => !WORST_FIRST.includes(v));
  if (missing.length)
    throw new Error(`verdicts without a place in WORST_FIRST: ${missing.join(', ')}`);
  return `<ul class="legend">${items.join('')}</ul>`;
}

/** The CSS of the first screen and of the colour map. */
export function overviewCss(): string {
  return `${verdictCss()}
.banner{border-radius:8px;padding:12px 14px;margin:12px 0;border:2px solid;border-left-width:12px;background:#fff}
.banner.b-ok{border-color:#2e7d32}.banner.b-info{border-color:#5b7db1}.banner.b-void{border-color:#888}
.banner.b-warn{border-color:#e07b00}.banner.b-bad{border-color:#b2182b}.banner.b-error{border-color:#2f2f2f}
.banner .headline{font-size:20px;font-weight:600;margin:0 0 10px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px}
.tile{border-radius:6px;padding:8px 10px;border:1px solid rgba(0,0,0,.15);overflow-wrap:anywhere}
.tile .n{display:block;font-size:28px;line-height:1.1}.tile .chips{display:block;margin-top:4px;font-size:12px}
.tile .chip{white-space:normal}
.scroll{overflow-x:auto;max-width:100%}
.heatmap{border-collapse:separate;border-spacing:3px;font-size:12px}
.heatmap th{background:#f3f3f3;font-weight:600;text-align:left;white-space:normal;min-width:70px;border:0}
.heatmap th small{display:block;font-weight:400;color:#555}
.heatmap tbody th{position:sticky;left:0;z-index:1;max-width:240px;overflow-wrap:anywhere}
td.hm{border:1px solid rgba(0,0,0,.2);border-radius:4px;padding:4px 6px;min-width:88px;vertical-align:top;white-space:nowrap}
td.hm span{display:block}td.hm .vw{font-weight:600}td.hm .d{font-size:14px}
td.hm .lost{font-weight:600}td.hm .x{font-weight:600;text-decoration:underline}td.hm.empty{background:#fafafa;color:#999}
.chip{display:inline-block;border-radius:3px;padding:0 4px;white-space:nowrap;border:1px solid rgba(0,0,0,.15)}
.legend{list-style:none;padding:0;columns:2 320px;font-size:12px}.legend li{margin:2px 0;break-inside:avoid}
.note{font-size:12px;color:#444}
@media (max-width:600px){.heatmap{font-size:11px}.heatmap tbody th{min-width:100px;max-width:120px}td.hm{min-width:64px;padding:3px 4px;white-space:normal}td.hm .d{font-size:12px}}`;
}
