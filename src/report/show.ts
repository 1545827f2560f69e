/**
 * `halfopen show`: one experiment's timeline in the terminal. Every process's events in one
 * column of time, in ms from the fault (T0, negative before it), under a header that says what ran
 * and what it found. Runs of one process's repeated events (a publisher's thousands of `sent`)
 * collapse into one line. Pure: the caller reads the files and decides on colour.
 */
import { formatMs } from '../util/duration.js';
import { alignColumns } from './table.js';

/** A timeline line as written (timeline.jsonl), `t` read as a bigint. */
export type RawEntry = Record<string, unknown> & { t: bigint; src: string; type: string };

export interface ShowEvent {
  /** ms from T0, to 0.1 ms. */
  ms: number;
  /** client, target, sink, lab; kube for the cluster's events; `target nats-1` for a replica's. */
  process: string;
  /** The event's type; for the cluster's events (kube), the kind of object that changed. */
  type: string;
  /** The event's own fields, compact. */
  detail: string;
  entry: RawEntry;
}

export interface ShowOptions {
  fromMs?: number;
  toMs?: number;
  /** Processes to keep (a name keeps its replicas too: `target` keeps `target nats-1`). */
  only?: string[];
  /** Every event on its own line, the timer-lateness reports too. */
  all?: boolean;
  color?: boolean;
}

export const PROCESSES = ['client', 'target', 'sink', 'lab', 'kube'] as const;

/** Parses timeline.jsonl; `where` names it in errors. Throws on a line that is not an event. */
export function parseTimeline(text: string, where: (line: number) => Error): RawEntry[] {
  const out: RawEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw where(i + 1);
    }
    if (typeof e !== 'object' || e === null || typeof e.t !== 'string' || !/^\d+$/.test(e.t))
      throw where(i + 1);
    out.push({ ...e, t: BigInt(e.t), src: String(e.src), type: String(e.type) });
  });
  return out;
}

/** The fault's start (T0): the lab's first `fault` event with phase start. */
export const t0Of = (entries: readonly RawEntry[]): bigint | undefined =>
  entries.find((e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'start')?.t;

const processOf = (e: RawEntry): string => {
  if (e.src === 'lab') return e.type === 'k8s' ? 'kube' : 'lab';
  return typeof e.pod === 'string' ? `${e.src} ${e.pod}` : e.src;
};

const endpoint = (v: unknown): string => {
  const p = v as { address?: string; port?: number } | undefined;
  return p?.address === undefined ? '' : `${p.address}:${p.port}`;
};

/** A field's value as text: strings as they are, objects as JSON, nothing as '-'. */
export function txt(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${v}`;
  return JSON.stringify(v);
}

/** The event's own fields, as few words as say them. */
export function detailOf(e: RawEntry): string {
  const s = (k: string): string => (e[k] === undefined ? '' : txt(e[k]));
  const opt = (k: string, pre = ' '): string => (e[k] === undefined ? '' : `${pre}${s(k)}`);
  switch (e.type) {
    case 'fault':
      return `${s('name')} ${s('phase')}${opt('detail', ': ')}`;
    case 'heal':
    case 'restart':
      return s('phase');
    case 'connecting':
      return `attempt ${s('attempt')}`;
    case 'connected': {
      const via = e.local || e.remote ? ` ${endpoint(e.local)} -> ${endpoint(e.remote)}` : '';
      return `attempt ${s('attempt')}${via}`;
    }
    case 'connect_failed':
      return `attempt ${s('attempt')}: ${s('code')}`;
    case 'sent':
    case 'recv':
      return `seq ${s('seq')}`;
    case 'send_failed':
      return `seq ${s('seq')}: ${s('error')}`;
    case 'status':
      return `${s('name')}${opt('detail')}`;
    case 'ping':
    case 'pong':
      return `n ${s('n')}`;
    case 'detected':
      return `${s('reason')}${e.code === undefined ? '' : ` (${s('code')})`}`;
    case 'log':
      return s('line');
    case 'exited':
      return `code ${s('code')}`;
    case 'backoff':
      return `${s('delayMs')} ms`;
    case 'fatal':
      return s('error');
    case 'lateness':
      return `max ${s('max_ms')} ms, p99 ${s('p99_ms')} ms over ${s('period_ms')} ms`;
    case 'listening':
      return `${s('address')}:${s('port')}`;
    case 'accepted':
      return `from ${endpoint(e.remote)}`;
    case 'hello':
      return `${s('client')} attempt ${s('attempt')}`;
    case 'conn_closed':
      return `${endpoint(e.remote)} ${s('reason')}`;
    case 'k8s': // shown as the object's kind (pod, endpoint, node...) by the kube process
      return `${s('name')}: ${s('change')}`;
    default: {
      // stop (reason), target_signal and stopping (signal), peer_timeout (what), and any other.
      const rest = Object.entries(e).filter(([k]) => !['t', 'src', 'type', 'pod'].includes(k));
      return rest.map(([, v]) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
    }
  }
}

/** The field that counts up in a run of repeated events, and the rest of what makes them alike. */
function counterOf(e: RawEntry): { n: number; rest: string } | null {
  const field =
    e.type === 'sent' || e.type === 'recv' || e.type === 'send_failed'
      ? 'seq'
      : e.type === 'ping' || e.type === 'pong'
        ? 'n'
        : e.type === 'connecting' || e.type === 'connect_failed'
          ? 'attempt'
          : null;
  if (field === null || typeof e[field] !== 'number') return null;
  const rest = Object.entries(e)
    .filter(([k]) => k !== field && k !== 't')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return { n: e[field], rest };
}

/** Every event in time order, in ms from T0, filtered as asked (lateness reports only with `all`). */
export function showEvents(
  entries: readonly RawEntry[],
  t0: bigint,
  opts: ShowOptions = {},
): ShowEvent[] {
  const sorted = [...entries].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  const keep = (p: string): boolean =>
    !opts.only || opts.only.some((o) => p === o || p.startsWith(`${o} `));
  return sorted
    .map((entry) => ({
      ms: Math.round(Number(entry.t - t0) / 1e5) / 10,
      process: processOf(entry),
      // The cluster's events by what changed: `kube  pod  nats-1: deleted`.
      type: entry.type === 'k8s' ? txt(entry.object) : entry.type,
      detail: detailOf(entry),
      entry,
    }))
    .filter(
      (e) =>
        (opts.all || e.type !== 'lateness') &&
        keep(e.process) &&
        (opts.fromMs === undefined || e.ms >= opts.fromMs) &&
        (opts.toMs === undefined || e.ms <= opts.toMs),
    );
}

/** "12..48", "1..10, 41..60": the counters of a run, as ranges. */
export function ranges(ns: readonly number[]): string {
  const out: string[] = [];
  let start = ns[0]!;
  let prev = start;
  for (const n of [...ns.slice(1), NaN]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    out.push(start === prev ? String(start) : `${start}..${prev}`);
    start = prev = n;
  }
  return out.length > 4 ? `${out.slice(0, 3).join(', ')}, ... ${out.at(-1)}` : out.join(', ');
}

interface Line {
  ms: number;
  process: string;
  type: string;
  detail: string;
}

/**
 * Collapses runs: between two events that are not repeated kinds (a status, a detection, the
 * fault...), each process's events of one repeated kind (sent, recv, ping, connecting...) become one
 * line: "x 37, seq 12..48, until 3602.1".
 */
export function collapse(events: readonly ShowEvent[]): Line[] {
  const lines: (Line & { ns?: number[]; lastMs?: number; field?: string })[] = [];
  let open = new Map<string, (typeof lines)[number]>();
  for (const e of events) {
    const c = counterOf(e.entry);
    if (!c) {
      open = new Map();
      lines.push({ ms: e.ms, process: e.process, type: e.type, detail: e.detail });
      continue;
    }
    const key = `${e.process}|${c.rest}`;
    const run = open.get(key);
    if (run) {
      run.ns!.push(c.n);
      run.lastMs = e.ms;
      continue;
    }
    const line = {
      ms: e.ms,
      process: e.process,
      type: e.type,
      detail: e.detail,
      ns: [c.n],
      lastMs: e.ms,
      field: e.detail.split(' ')[0]!,
    };
    open.set(key, line);
    lines.push(line);
  }
  return lines.map((l) => {
    if (!l.ns || l.ns.length === 1)
      return { ms: l.ms, process: l.process, type: l.type, detail: l.detail };
    const tail = l.detail.includes(': ') ? `: ${l.detail.split(': ').slice(1).join(': ')}` : '';
    return {
      ms: l.ms,
      process: l.process,
      type: l.type,
      detail: `x ${l.ns.length}, ${l.field} ${ranges(l.ns)}, until ${l.lastMs!.toFixed(1)}${tail}`,
    };
  });
}

const COLORS: Record<string, number> = { client: 36, target: 35, sink: 34, lab: 33, kube: 32 };
const paint = (text: string, code: number | undefined, on: boolean): string =>
  on && code !== undefined ? `\x1b[${code}m${text}\x1b[0m` : text;

/** Colour for a verdict: green where it agrees with the prediction (or had none), red otherwise. */
export function paintVerdict(v: string, on: boolean): string {
  const fine = ['inside', 'early', 'not detected (as predicted)', 'measured (no prediction)'];
  return paint(v, fine.includes(v) ? 32 : 31, on);
}

/** The timeline's lines: time (ms from T0), process, event, detail. */
export function renderEvents(events: readonly ShowEvent[], opts: ShowOptions = {}): string[] {
  const lines = opts.all
    ? events.map(({ ms, process, type, detail }) => ({ ms, process, type, detail }))
    : collapse(events);
  const msW = Math.max(0, ...lines.map((l) => l.ms.toFixed(1).length));
  const pW = Math.max(0, ...lines.map((l) => l.process.length));
  const tW = Math.max(0, ...lines.map((l) => l.type.length));
  return lines.map((l) => {
    const proc = paint(l.process.padEnd(pW), COLORS[l.process.split(' ')[0]!], opts.color === true);
    return `${l.ms.toFixed(1).padStart(msW)}  ${proc}  ${l.type.padEnd(tW)}  ${l.detail}`.trimEnd();
  });
}

/** What a result.json says about the run, as the header prints it. */
export function renderHeader(
  r: Record<string, unknown> | null,
  timeline: { path: string; events: number; fault: string | null; detectMs: number | null },
  color = false,
): string[] {
  const ms = (v: unknown): string => (typeof v === 'number' ? formatMs(v) : '-');
  if (!r) {
    return [
      `halfopen show: ${timeline.path} (no result.json beside it)`,
      `  fault      ${timeline.fault ?? '-'}; the client detected ${timeline.detectMs === null ? 'nothing' : `at ${formatMs(timeline.detectMs)}`}`,
      `  timeline   ${timeline.events} events, in ms from the fault (T0)`,
    ];
  }
  const back =
    typeof r.heal_ms === 'number'
      ? `, healed at ${ms(r.heal_ms)}`
      : typeof r.restart_ms === 'number'
        ? `, restarted at ${ms(r.restart_ms)}`
        : '';
  const qos = r.qos === 0 || r.qos === 1 ? ` QoS ${r.qos},` : '';
  const w = r.predicted_ms as [number, number] | null;
  const detected =
    r.detect_ms === null
      ? `not detected within ${ms(r.deadline_ms)}`
      : `detected ${ms(r.detect_ms)} after the fault (${String(r.detect_reason)})`;
  return [
    `halfopen show: ${String(r.target)} client, strategy ${String(r.strategy)}, workload ${String(r.workload)},${qos} fault ${String(r.fault)}${back} (${String(r.testbed)})`,
    `  client     ${String(r.client)} against ${String(r.target_version)}`,
    `  result     ${detected}; predicted ${w ? `${formatMs(w[0])} - ${formatMs(w[1])}` : 'never'}: ${paintVerdict(String(r.verdict), color)}`,
    `  messages   ${txt(r.sent)} accepted, ${String(r.lost)} lost, ${txt(r.stale_sent)} accepted after the fault before detection; reconnect ${ms(r.reconnect_ms)}`,
    `  timeline   ${timeline.path}: ${timeline.events} events, in ms from the fault (T0)`,
  ];
}

/** A matrix's experiments, to pick one from. */
export function renderListing(
  summary: { title?: unknown; experiments: Record<string, unknown>[] },
  dirShown: string,
  dirOf: (exp: Record<string, unknown>) => string,
  color = false,
): string {
  const body = summary.experiments.map((x) => {
    const r = x.result as Record<string, unknown> | undefined;
    return [
      String(x.index),
      dirOf(x),
      r ? `${String(r.target)} ${String(r.strategy)} ${String(r.workload)}` : '-',
      r ? String(r.fault) : '-',
      r ? String(r.verdict) : `error: ${String(x.error)}`,
    ];
  });
  const [head, rule, ...rows] = alignColumns(['index', 'dir', 'client', 'fault', 'verdict'], body);
  // The verdict is the last column: painted after the columns are laid out.
  const painted = rows.map((l, i) => {
    const v = body[i]![4]!;
    return `${l.slice(0, l.length - v.length)}${v.startsWith('error') ? paint(v, 31, color) : paintVerdict(v, color)}`;
  });
  return [
    `halfopen show: matrix "${typeof summary.title === 'string' ? summary.title : ''}" (${dirShown}), ${body.length} experiments`,
    ...[head!, rule!, ...painted].map((l) => `  ${l}`),
    '',
    `show ${dirShown}/<dir> (or: show ${dirShown} <index>) prints one experiment's timeline`,
  ].join('\n');
}
