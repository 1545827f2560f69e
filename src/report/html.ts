/**
 * The HTML report: one self-contained file (inline SVG and CSS, no script, no network) that shows
 * a matrix at a glance. Charts are Apache ECharts option objects rendered to SVG on the server
 * (its SSR renderer); this file only chooses what to plot.
 *   0. the first screen: a banner of what matters and a clients x faults heatmap
 *      (src/report/overview-html.ts), with the legend of the verdicts' colours;
 *   1. the results table;
 *   2. detection per client x fault: every repetition a point, the predicted window a band;
 *   3. loss per cell: lost and stale_sent;
 *   4. each experiment's timeline: client events, messages sent and delivered, fault, heal.
 */
import * as echarts from 'echarts';
import type { TimelineEntry } from '../events.js';
import type { ExperimentResult } from '../runner/experiment.js';
import { msBetween } from '../util/clock.js';
import { formatMs } from '../util/duration.js';
import { predictedText, type Cell } from './cells.js';
import {
  bannerHtml,
  esc,
  heatmapHtml,
  legendHtml,
  overviewCss,
  verdictChips,
} from './overview-html.js';

export interface ReportInput {
  title: string;
  cells: readonly Cell[];
  /** Per experiment, in matrix order: its result and where its timeline is, relative to the report. */
  experiments: { index: number; result: ExperimentResult; timelinePath: string }[];
  wallS: number;
  parallel: number;
  /** The fewest at once, when the runner lowered the limit as timers ran late. */
  parallelLowest?: number;
  generatedAt: string;
  host: string;
}

/** Renders an ECharts option to an SVG string, with animation off so nothing outlives the call. */
/** One line, cut with an ellipsis where a long client name (your command) would wrap. */
const chartTitle = (text: string, width: number): echarts.TitleComponentOption => ({
  text,
  left: 0,
  textStyle: { fontSize: 13, width: width - 10, overflow: 'truncate' },
});

function svg(option: echarts.EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({ animation: false, ...option });
  const out = chart.renderToSVGString();
  chart.dispose();
  return out;
}

/** Log axes cannot show 0: a detection within a millisecond is drawn at 1 ms. */
const floor1 = (ms: number): number => Math.max(1, ms);

function detectionChart(client: string, cells: readonly Cell[]): string {
  const width = Math.max(480, 150 * cells.length);
  const faults = cells.map((c) => c.faultLabel);
  const band = cells.map((c) =>
    c.predicted_ms
      ? [
          // A band, not a distribution: the "median" line sits on the lower edge.
          floor1(c.predicted_ms[0]),
          floor1(c.predicted_ms[0]),
          floor1(c.predicted_ms[0]),
          floor1(c.predicted_ms[1]),
          floor1(c.predicted_ms[1]),
        ]
      : [],
  );
  const points: [number, number][] = [];
  const missed: [number, number][] = [];
  cells.forEach((c, i) => {
    for (const r of c.results) {
      if (r.detect_ms === null) missed.push([i, r.deadline_ms]);
      else points.push([i, floor1(r.detect_ms)]);
    }
  });
  return svg(
    {
      title: chartTitle(client, width),
      legend: {
        top: 28,
        left: 0,
        itemGap: 24,
        data: ['predicted window', 'detected', 'not detected (at deadline)'],
      },
      grid: { top: 80, left: 70, right: 20, bottom: 60 },
      xAxis: { type: 'category', data: faults, axisLabel: { interval: 0, rotate: 15 } },
      yAxis: { type: 'log', name: 'ms after the fault', min: 1, logBase: 10 },
      series: [
        {
          name: 'predicted window',
          type: 'boxplot',
          data: band,
          itemStyle: { color: 'rgba(84,112,198,0.18)', borderColor: 'rgba(84,112,198,0.6)' },
        },
        { name: 'detected', type: 'scatter', data: points, symbolSize: 9 },
        {
          name: 'not detected (at deadline)',
          type: 'scatter',
          data: missed,
          symbol: 'triangle',
          symbolSize: 11,
          itemStyle: { color: '#c23531' },
        },
      ],
    },
    width,
    340,
  );
}

function lossChart(client: string, cells: readonly Cell[]): string {
  const width = Math.max(480, 150 * cells.length);
  return svg(
    {
      title: chartTitle(client, width),
      legend: { top: 28, left: 0, itemGap: 24, data: ['lost (median)', 'stale_sent (median)'] },
      grid: { top: 80, left: 60, right: 20, bottom: 60 },
      xAxis: {
        type: 'category',
        data: cells.map((c) => c.faultLabel),
        axisLabel: { interval: 0, rotate: 15 },
      },
      yAxis: { type: 'value', name: 'messages', minInterval: 1 },
      series: [
        { name: 'lost (median)', type: 'bar', data: cells.map((c) => c.lost?.p50 ?? 0) },
        {
          name: 'stale_sent (median)',
          type: 'bar',
          data: cells.map((c) => c.stale_sent?.p50 ?? 0),
        },
      ],
    },
    width,
    300,
  );
}

const LANES = ['lab', 'k8s', 'client', 'sent', 'delivered'] as const;
type Lane = (typeof LANES)[number];

/** Where an event goes on the timeline view, or null for what it leaves out (logs). */
function laneOf(e: TimelineEntry): Lane | null {
  if (e.src === 'lab') return e.type === 'k8s' ? 'k8s' : 'lab';
  if (e.type === 'lateness') return null;
  if (e.type === 'sent') return 'sent';
  if (e.type === 'recv') return 'delivered';
  if (e.src === 'client') return 'client';
  return null;
}

/** At most `max` points per lane: a fast publisher's thousands of messages are thinned evenly. */
function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const step = xs.length / max;
  return Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)]!);
}

function timelineChart(r: ExperimentResult): string {
  const t0 = r.timeline.find((e) => e.src === 'lab' && e.type === 'fault')?.t;
  if (t0 === undefined) return '<p>no fault in this timeline</p>';
  const lanes = new Map<Lane, { value: [number, number]; name: string }[]>();
  for (const e of r.timeline) {
    const lane = laneOf(e);
    if (!lane) continue;
    const name =
      e.type === 'status'
        ? `status ${e.name}`
        : e.type === 'fault'
          ? `fault ${e.phase}`
          : e.type === 'k8s'
            ? `${e.object} ${e.name}: ${e.change}`
            : e.type;
    const list = lanes.get(lane) ?? [];
    list.push({ value: [msBetween(t0, e.t) / 1000, LANES.indexOf(lane)], name });
    lanes.set(lane, list);
  }
  // Vertical lines where the story turns: the fault (T0), the path's return, the deadline.
  const marks = r.timeline.flatMap((e) => {
    if (e.src !== 'lab') return [];
    const turn =
      (e.type === 'fault' && e.phase === 'start') ||
      ((e.type === 'heal' || e.type === 'restart') && e.phase === 'applied') ||
      e.type === 'deadline';
    return turn ? [{ xAxis: msBetween(t0, e.t) / 1000, name: e.type }] : [];
  });
  const detect = r.detect_ms === null ? [] : [{ xAxis: r.detect_ms / 1000, name: 'detected' }];
  return svg(
    {
      grid: { top: 20, left: 80, right: 20, bottom: 40 },
      xAxis: { type: 'value', name: 's from the fault', nameLocation: 'middle', nameGap: 25 },
      yAxis: { type: 'category', data: [...LANES] },
      series: LANES.map((lane) => ({
        name: lane,
        type: 'scatter' as const,
        symbolSize: lane === 'sent' || lane === 'delivered' ? 4 : 8,
        data: thin(lanes.get(lane) ?? [], 1500),
        ...(lane === 'lab'
          ? {
              markLine: {
                symbol: 'none',
                label: { formatter: '{b}', fontSize: 10 },
                data: [...marks, ...detect],
              },
            }
          : {}),
      })),
    },
    900,
    200,
  );
}

/** The Kubernetes events of a kube experiment, in order, from T0. */
function kubeEventList(r: ExperimentResult): string {
  if (!r.kube || r.kube.events.length === 0) return '';
  const items = r.kube.events.map(
    (e) =>
      `<li><code>${e.at_ms >= 0 ? '+' : ''}${formatMs(e.at_ms)}</code> ${esc(e.object)} <b>${esc(e.name)}</b>: ${esc(e.change)}</li>`,
  );
  return `<p>Kubernetes (${r.kube.replicas} replicas, ${esc(r.kube.service)}, time-scale ${r.kube.time_scale}):</p><ul class="k8s">${items.join('')}</ul>`;
}

function tableHtml(cells: readonly Cell[]): string {
  const rows = cells.map(
    (c) =>
      `<tr><td>${esc(c.faultLabel)}</td><td>${esc(c.target)}</td><td>${esc(c.strategy)}</td><td>${esc(c.qos === null ? c.workload : `${c.workload} QoS ${c.qos}`)}</td><td>${c.runs}</td><td>${c.detect ? formatMs(c.detect.p50) : '-'}</td><td>${c.detect ? formatMs(c.detect.p95) : '-'}</td><td>${c.detect ? formatMs(c.detect.max) : '-'}</td><td>${esc(predictedText(c))}</td><td class="v">${verdictChips(c)}</td><td>${c.lost?.p50 ?? '-'}</td><td>${c.stale_sent?.p50 ?? '-'}</td><td>${c.reconnect ? formatMs(c.reconnect.p50) : '-'}</td></tr>`,
  );
  return `<div class="scroll"><table class="results"><thead><tr><th>fault</th><th>target</th><th>strategy</th><th>workload</th><th>n</th><th>detect p50</th><th>p95</th><th>max</th><th>predicted</th><th>verdict</th><th>lost</th><th>stale</th><th>reconnect</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

export function renderHtml(input: ReportInput): string {
  // One chart per client (target, strategy, QoS) and workload, with the faults along its axis.
  const byClient = new Map<string, Cell[]>();
  for (const c of input.cells) {
    const k = `${c.client}, ${c.workload}`;
    byClient.set(k, [...(byClient.get(k) ?? []), c]);
  }
  const detection = [...byClient].map(([k, cs]) => `<figure>${detectionChart(k, cs)}</figure>`);
  const loss = [...byClient].map(([k, cs]) => `<figure>${lossChart(k, cs)}</figure>`);
  const timelines = input.experiments.map(
    ({ index, result: r, timelinePath }) =>
      `<details><summary>#${index} ${esc(r.target)} ${esc(r.strategy)}, ${esc(r.workload)}, ${esc(r.fault)}: detected ${r.detect_ms === null ? 'never' : formatMs(r.detect_ms)}, ${r.lost} lost (<code>${esc(timelinePath)}</code>)</summary>${timelineChart(r)}${kubeEventList(r)}</details>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)} - halfopen</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:100%}
h1{overflow-wrap:anywhere}
table.results{border-collapse:collapse;font-size:12px}.results td,.results th{border:1px solid #ccc;padding:3px 6px;text-align:left;white-space:nowrap}
.results th{background:#f3f3f3}figure{margin:12px 0;overflow-x:auto}details{margin:4px 0}
details>svg{display:block}details{overflow-x:auto}
summary{cursor:pointer;overflow-wrap:anywhere}code{font-size:11px;color:#555}
@media (max-width:600px){body{margin:10px}.banner .headline{font-size:17px}}
${overviewCss()}
</style></head><body>
<h1>${esc(input.title)}</h1>
<p>${input.cells.reduce((n, c) => n + c.runs, 0)} experiments in ${input.wallS.toFixed(1)} s, ${input.parallel} at a time${input.parallelLowest !== undefined && input.parallelLowest < input.parallel ? ` (lowered to ${input.parallelLowest} as timers ran late)` : ''}, on ${esc(input.host)}; ${esc(input.generatedAt)}.
Detection is measured from the fault (T0); the band is the window the client's settings predict.</p>
${bannerHtml(input.cells)}
<h2>Clients and faults</h2>
${heatmapHtml(input.cells)}
${legendHtml()}
<h2>Results</h2>
${tableHtml(input.cells)}
<h2>Detection per client and fault</h2>
${detection.join('\n')}
<h2>Messages lost per cell</h2>
${loss.join('\n')}
<h2>Timelines</h2>
${timelines.join('\n')}
</body></html>
`;
}
