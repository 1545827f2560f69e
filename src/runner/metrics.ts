/**
 * The measurements, computed from a finished timeline. Definitions (design.md):
 * - detect_ms: T0 (the fault's start mark) to the client's first `detected` event after it.
 * - stale_sent: messages accepted by the client (write completed, no error) in [T0, detection).
 * - lost: accepted messages that the sink never received by the end of the experiment.
 * - reconnect_ms: from the path's return (heal, the target's restart; for `reset`, which only
 *   kills the one flow, the detection) to the first delivery after it: a message at the receiving
 *   side, or for an idle client its next connection.
 * Who sends and who receives follows the workload: `publish`, the client sends and the sink (the
 *   TCP target, or a broker's sink) receives; `subscribe`, the broker's sink sends and the client
 *   receives.
 * - false_disconnects: detections before T0, while no fault was active.
 * - timer_lateness_ms: the largest lateness of their own timers that the client and the lab's own
 *   target reported (util/lateness.ts) for the time that decides the detection: from
 *   LATENESS_LOOKBACK_MS before T0 (timers armed then fire after it) to the detection, or to the
 *   deadline without one.
 */
import type { TimelineEntry } from '../events.js';
import type { Workload } from '../core/workload.js';
import { msBetween } from '../util/clock.js';

export interface Metrics {
  detect_ms: number | null;
  /** What the client saw: eof, an errno code (ECONNRESET, ETIMEDOUT, EPIPE), heartbeat-timeout. */
  detect_reason: string | null;
  /** null where unknown: your own client that reports no sends (`lost_from: gaps`). */
  stale_sent: number | null;
  lost: number;
  duplicates: number;
  sent: number | null;
  received: number;
  reconnect_ms: number | null;
  false_disconnects: number;
  /** Milliseconds from T0 to the heal, when there was one. */
  heal_at_ms: number | null;
  /**
   * How `lost` was counted: from what the sender reported accepted, or (your own client when it
   * reports nothing) from the gaps below the highest sequence number delivered.
   */
  lost_from: 'accepted' | 'gaps';
  /** null: no process reported it (a broker target and your own program do not). */
  timer_lateness_ms: number | null;
}

/** Timers armed up to this long before T0 (the last ping, the last reschedule) decide too. */
export const LATENESS_LOOKBACK_MS = 1000;

const round = (ms: number): number => Math.round(ms * 10) / 10;

export interface MetricOptions {
  /** What the reconnect is measured from: the heal, the detection, or nothing (no return). */
  reconnectFrom: 'heal' | 'restart' | 'detection' | null;
  workload: Workload['kind'];
  /** Detections after T0 + deadline (while the run was being stopped) do not count. */
  deadlineMs: number;
  /** Your own client: where it reports no sends, count the gaps in what was delivered. */
  countGaps?: boolean;
}

export function computeMetrics(entries: readonly TimelineEntry[], opts: MetricOptions): Metrics {
  const { reconnectFrom } = opts;
  const t0 =
    entries.find((e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'start')?.t ?? null;
  let detect: TimelineEntry | undefined;
  let falseDisconnects = 0;
  const accepted = new Map<number, bigint>();
  const received = new Map<number, number>();
  const perReceiver = new Map<string, number>();
  const subscribe = opts.workload === 'subscribe';
  const isSend = (e: TimelineEntry): e is TimelineEntry & { seq: number } =>
    e.type === 'sent' && (subscribe ? e.src === 'sink' || e.src === 'target' : e.src === 'client');
  const isRecv = (e: TimelineEntry): e is TimelineEntry & { seq: number } =>
    e.type === 'recv' && (subscribe ? e.src === 'client' : e.src === 'target' || e.src === 'sink');
  for (const e of entries) {
    if (e.src === 'client' && e.type === 'detected') {
      if (t0 === null || e.t < t0) falseDisconnects += 1;
      else if (msBetween(t0, e.t) <= opts.deadlineMs) detect ??= e;
    } else if (isSend(e)) accepted.set(e.seq, e.t);
    else if (isRecv(e)) {
      received.set(e.seq, (received.get(e.seq) ?? 0) + 1);
      // A message each of a cluster's sinks received (routes carry it to every replica) is one
      // delivery per receiver: a duplicate is a second one at the same receiver.
      const at = `${e.pod ?? ''}/${e.seq}`;
      perReceiver.set(at, (perReceiver.get(at) ?? 0) + 1);
    }
  }

  const detectT = detect?.t ?? null;
  let lateness: number | null = null;
  if (t0 !== null) {
    const from = t0 - BigInt(LATENESS_LOOKBACK_MS * 1e6);
    const to = detectT ?? t0 + BigInt(Math.round(opts.deadlineMs * 1e6));
    for (const e of entries) {
      if (e.type !== 'lateness' || (e.src !== 'client' && e.src !== 'target')) continue;
      // The report covers (t - period, t].
      if (e.t <= from || e.t - BigInt(Math.round(e.period_ms * 1e6)) >= to) continue;
      lateness = Math.max(lateness ?? 0, e.max_ms);
    }
  }
  const gaps = opts.countGaps === true && accepted.size === 0;
  if (gaps) {
    let highest = 0;
    for (const seq of received.keys()) highest = Math.max(highest, seq);
    for (let seq = 1; seq <= highest; seq++) accepted.set(seq, -1n);
  } else if (opts.countGaps && subscribe && received.size > 0) {
    // Your subscribing program: the sink starts when the kernel shows its connection, maybe
    // before it subscribed; what went out before its first message is not held against it.
    let first = Infinity;
    for (const seq of received.keys()) first = Math.min(first, seq);
    for (const seq of accepted.keys()) if (seq < first) accepted.delete(seq);
  }
  let stale = 0;
  let lost = 0;
  for (const [seq, t] of accepted) {
    if (!gaps && t0 !== null && t >= t0 && (detectT === null || t < detectT)) stale += 1;
    if (!received.has(seq)) lost += 1;
  }
  let duplicates = 0;
  for (const n of perReceiver.values()) duplicates += n - 1;

  const labMark = (type: 'heal' | 'restart'): bigint | null =>
    entries.find((e) => e.src === 'lab' && e.type === type && e.phase === 'applied')?.t ?? null;
  const healT = labMark('heal');
  const ref =
    reconnectFrom === 'detection'
      ? detectT
      : reconnectFrom === null
        ? null
        : labMark(reconnectFrom);
  let reconnect: number | null = null;
  if (ref !== null) {
    const back = entries.find(
      (e) =>
        e.t > ref &&
        (opts.workload === 'idle' ? e.src === 'client' && e.type === 'connected' : isRecv(e)),
    );
    if (back) reconnect = round(msBetween(ref, back.t));
  }

  return {
    detect_ms: detect && t0 !== null ? round(msBetween(t0, detect.t)) : null,
    detect_reason:
      detect && detect.src === 'client' && detect.type === 'detected'
        ? (detect.code ?? detect.reason)
        : null,
    stale_sent: gaps ? null : stale,
    lost,
    duplicates,
    sent: gaps ? null : accepted.size,
    received: received.size,
    reconnect_ms: reconnect,
    false_disconnects: falseDisconnects,
    heal_at_ms: healT !== null && t0 !== null ? round(msBetween(t0, healT)) : null,
    lost_from: gaps ? 'gaps' : 'accepted',
    timer_lateness_ms: lateness,
  };
}
