/**
 * A matrix's results grouped into cells, one per (target, strategy, workload, QoS, fault, heal,
 * restart, testbed): the repetitions of one question, summarized. Pure: the table, summary.json
 * and the HTML report all read these.
 */
import type { Verdict } from '../advise/predict.js';
import type { ExpectOutcome } from './expect.js';
import { formatWindow } from './human.js';
import type { ExperimentResult } from '../runner/experiment.js';
import type { MatrixRow } from '../runner/matrix.js';
import { PROTOCOLS } from '../protocols/index.js';
import { formatStrategy, formatWorkload, type ExperimentSpec } from '../scenario/spec.js';

export interface Stats {
  p50: number;
  p95: number;
  max: number;
}

export interface Cell {
  key: string;
  /** "tcp none", "mqtt mqtt:keepalive=2s,reconnect=1s QoS 1": the client as the report names it. */
  client: string;
  target: string;
  strategy: string;
  workload: string;
  qos: 0 | 1 | null;
  fault: string;
  /** "partition healed at 6 s", "kill restarted at 2 s", or the fault's name. */
  faultLabel: string;
  testbed: string;
  runs: number;
  errors: string[];
  detect: Stats | null;
  /** Repetitions that detected within the deadline. */
  detected: number;
  predicted_ms: [number, number] | null;
  /** Verdicts and how many repetitions had each, most frequent first. */
  verdicts: [Verdict, number][];
  lost: Stats | null;
  stale_sent: Stats | null;
  reconnect: Stats | null;
  results: ExperimentResult[];
  /** The matrix rows (experiment indexes) of its repetitions. */
  indexes: number[];
  /** Each expectation the cell was given (`--expect`, `expect:`), and whether it was met. */
  expect: ExpectOutcome[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

export function stats(values: readonly number[]): Stats | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1)! };
}

export function faultLabel(
  sp: Pick<ExperimentSpec, 'fault' | 'healMs' | 'restartMs' | 'latency' | 'idleTimeout' | 'params'>,
): string {
  const s = (ms: number): string => `${+(ms / 1000).toFixed(3)} s`;
  // A fault's own parameters (a duration in ms, or a word), in the order it gave them.
  const own = Object.entries(sp.params ?? {})
    .map(([k, v]) => ` ${k.replace(/_/g, ' ')} ${typeof v === 'number' ? s(v) : v}`)
    .join(',');
  if (own) return `${sp.fault}${own}`;
  if (sp.healMs !== null) return `${sp.fault} healed at ${s(sp.healMs)}`;
  if (sp.restartMs !== null) return `${sp.fault} restarted at ${s(sp.restartMs)}`;
  if (sp.latency) return `${sp.fault} ${s(sp.latency.ms)} +- ${s(sp.latency.jitterMs)}`;
  if (sp.idleTimeout) return `${sp.fault} ${s(sp.idleTimeout.ms)}, ${sp.idleTimeout.onExpiry}`;
  return sp.fault;
}

/**
 * The target column: on kube with its cluster (`nats x3`, `nats x3 advertised`, `tcp x3
 * headless`, `x0.05` when the delays are scaled), so variants of one scenario stay apart; your
 * own server's command after it.
 */
export function targetLabel(sp: Pick<ExperimentSpec, 'target' | 'kube' | 'ownServer'>): string {
  const own = sp.ownServer ? ` (server: ${short(sp.ownServer.command)})` : '';
  const k = sp.kube;
  if (!k) return `${sp.target}${own}`;
  const parts = [`${sp.target} x${k.replicas}`];
  if (k.advertise) parts.push('advertised');
  if (k.service === 'headless') parts.push('headless');
  return `${parts.join(' ')}${own}`;
}

/** A command as a column shows it. */
const short = (command: string): string =>
  command.length > 40 ? `${command.slice(0, 39)}…` : command;

/** The strategy column; for your own client, what it was said to do and its command. */
function strategyLabel(sp: ExperimentSpec): string {
  if (!sp.own) return formatStrategy(sp.strategy);
  const { command, declared } = sp.own;
  return `${declared ? formatStrategy(sp.strategy) : 'unknown'} (${short(command)})`;
}

export function cellsOf(rows: readonly MatrixRow[]): Cell[] {
  const cells = new Map<string, { cell: Cell; detects: number[] }>();
  for (const row of rows) {
    const sp = row.spec;
    const strategy = strategyLabel(sp);
    const workload = formatWorkload(sp.workload);
    const qos = PROTOCOLS[sp.target].qos ? sp.qos : null;
    const label = faultLabel(sp);
    const target = targetLabel(sp);
    const key = [
      sp.testbed,
      target,
      sp.ownServer?.command,
      strategy,
      sp.own?.command,
      workload,
      qos,
      label,
    ].join('|');
    let entry = cells.get(key);
    if (!entry) {
      entry = {
        detects: [],
        cell: {
          key,
          client: `${target} ${strategy}${qos === null ? '' : ` QoS ${qos}`}`,
          target,
          strategy,
          workload,
          qos,
          fault: sp.fault,
          faultLabel: label,
          testbed: sp.testbed,
          runs: 0,
          errors: [],
          detect: null,
          detected: 0,
          predicted_ms: null,
          verdicts: [],
          lost: null,
          stale_sent: null,
          reconnect: null,
          results: [],
          indexes: [],
          expect: [],
        },
      };
      cells.set(key, entry);
    }
    entry.cell.runs += 1;
    entry.cell.indexes.push(row.index);
    if (row.error !== undefined) entry.cell.errors.push(row.error);
    if (row.result) entry.cell.results.push(row.result);
  }
  return [...cells.values()].map(({ cell }) => summarize(cell));
}

function summarize(cell: Cell): Cell {
  const rs = cell.results;
  const detects = rs.flatMap((r) => (r.detect_ms === null ? [] : [r.detect_ms]));
  const reconnects = rs.flatMap((r) => (r.reconnect_ms === null ? [] : [r.reconnect_ms]));
  const counts = new Map<Verdict, number>();
  for (const r of rs) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  return {
    ...cell,
    detect: stats(detects),
    detected: detects.length,
    predicted_ms: rs[0]?.predicted_ms ?? null,
    verdicts: [...counts].sort((a, b) => b[1] - a[1]),
    lost: stats(rs.map((r) => r.lost)),
    stale_sent: stats(rs.flatMap((r) => (r.stale_sent === null ? [] : [r.stale_sent]))),
    reconnect: stats(reconnects),
  };
}

/** The predicted window as shown in tables: "never" is a prediction; "-" is none. */
export function predictedText(cell: Cell): string {
  if (cell.verdicts.some(([v]) => v === 'measured (no prediction)')) return '-';
  return formatWindow(cell.predicted_ms);
}

/** "inside", or "inside 2/3, late 1/3" when repetitions disagree. */
export function verdictText(cell: Cell): string {
  if (cell.verdicts.length === 0) return cell.errors.length ? 'error' : '-';
  if (cell.verdicts.length === 1 && cell.errors.length === 0) return cell.verdicts[0]![0];
  const n = cell.runs;
  const parts = cell.verdicts.map(([v, k]) => `${v} ${k}/${n}`);
  if (cell.errors.length) parts.push(`error ${cell.errors.length}/${n}`);
  return parts.join(', ');
}
