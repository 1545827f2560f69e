/**
 * What `tune` asks of a strategy kind, and the rule that request/response heartbeats share. Pure.
 */
import { sec } from '../core/window.js';
import type { Workload } from '../core/workload.js';

export interface TuneAsk {
  workload: Workload;
  qos: 0 | 1;
  /** Notice a silent peer within this, at worst (ms after it went silent). */
  withinMs: number;
  /** A healthy peer's answer may be this late (round trip, jitter, GC and event-loop pauses). */
  tolerateMs: number;
  /** The shortest idle timeout of a middlebox on the path (a load balancer's), if known. */
  idleTimeoutMs: number | null;
  /** The client library whose rule applies (`--emit`'s `lib=`, e.g. go); default the lab's own. */
  lib?: string;
}

/** A setting as a kind's rule makes it, before its window is checked against the request. */
export interface Made<S> {
  strategy: S;
  /** How often it puts a packet on an idle connection (what keeps a middlebox's flow alive). */
  probeEveryMs: number | null;
  /** How late a healthy answer may be before this setting calls the peer dead. */
  toleratesMs: number;
  why: string;
  notes?: string[];
}

/** A probe period is kept this far below a middlebox's idle timeout, for jitter and a lost probe. */
export const IDLE_MARGIN = 0.8;

export const floorTo = (ms: number, step: number): number => Math.floor(ms / step) * step;
export const ceilTo = (ms: number, step: number): number => Math.ceil(ms / step) * step;

/** The longest probe period the path allows (Infinity without a middlebox). */
export function periodCap(ask: TuneAsk): number {
  return ask.idleTimeoutMs === null ? Infinity : ask.idleTimeoutMs * IDLE_MARGIN;
}

/**
 * A request/response heartbeat (the TCP client's, ws, HTTP/2, gRPC): it waits `timeout` for each
 * answer, and the first unanswered probe goes out within `period` of the silence, so the worst
 * case is period + timeout. The timeout is what a healthy answer may take; the rest is period.
 */
export function pingTimeout<S>(
  ask: TuneAsk,
  build: (periodMs: number, timeoutMs: number) => S,
  what: string,
): Made<S> | string {
  const timeout = ceilTo(ask.tolerateMs, 100);
  const period = Math.min(floorTo(ask.withinMs - timeout, 100), floorTo(periodCap(ask), 100));
  if (period < 100)
    return `${what}: a timeout of ${sec(timeout)} (what a healthy answer may take) leaves no time to probe within ${sec(ask.withinMs)}`;
  const capped = period < floorTo(ask.withinMs - timeout, 100);
  return {
    strategy: build(period, timeout),
    probeEveryMs: period,
    toleratesMs: timeout,
    why: `${what}: timeout ${sec(timeout)} for a late answer, probe every ${sec(period)}${capped ? ` (under ${IDLE_MARGIN * 100} % of the path's idle timeout)` : ''}: at worst ${sec(period + timeout)}`,
  };
}
