/**
 * The shape of a prediction, and the pieces of formula that several strategies and faults share.
 * Pure. The facts behind each formula, with their sources: docs/facts.md.
 */
import { sendGapMs, type Workload } from './workload.js';
import { DEFAULT_TCP_RETRIES2, retransmissionTimeoutMs, retransmissionWindowMs } from './tcp.js';

export type Window = readonly [minMs: number, maxMs: number];

export interface Prediction {
  /** null: the formula says this client never notices. */
  window: Window | null;
  /** The formula, in words, with the numbers put in. */
  why: string;
  /** Nothing is known to predict from (your own client, settings not described). */
  unknown?: true;
}

/** Seconds, as the formulas' explanations write them: `2s`, `0.25s`. */
export const sec = (ms: number): string => `${+(ms / 1000).toFixed(3)}s`;

/** What a client's timers see on the path: its workload, its namespace's sysctls, MQTT's QoS. */
export interface PathContext {
  workload: Workload;
  sysctls: Record<string, number>;
  qos: 0 | 1;
}

/**
 * A socket with unacknowledged data (a publisher) on a silent path: the kernel retransmits with a
 * doubling RTO until tcp_retries2 gives up (Linux TCP in docs/facts.md).
 */
export function retransmission(c: PathContext): Prediction {
  const retries2 = c.sysctls.tcp_retries2 ?? DEFAULT_TCP_RETRIES2;
  const t = retransmissionTimeoutMs(retries2);
  const [min, max] = retransmissionWindowMs(retries2);
  const gap = sendGapMs(c.workload);
  return {
    window: [min, max + gap],
    why: `unacknowledged data: RTO backoff from 200ms with tcp_retries2=${retries2} gives up ${sec(t)} after the first retransmission (within ~0.4s of the first send after T0, which comes within ${sec(gap)}), at the next RTO firing`,
  };
}

/**
 * What a measurement may lie beyond its window before it counts as early or late: 25 ms plus 1 %
 * of the bound, for what the formulas leave out on purpose (a clock tick here and there, a round
 * trip, an event loop turning once), plus what the lab measured of its own imprecision in that
 * experiment (`LabSlack`). Everything systematic belongs in the window itself.
 */
export const toleranceMs = (boundMs: number): number => 25 + 0.01 * boundMs;

/** The lab's own imprecision in one experiment, as it measured it. */
export interface LabSlack {
  /**
   * The largest lateness of the client's and the lab target's own timers around the fault
   * (`timer_lateness_ms`): every timer and every event of theirs may come that much later.
   */
  latenessMs: number;
  /**
   * From T0 until the lab saw the fault in force (`fault_apply_ms`): the fault took hold somewhere
   * in that span, so every window may end that much later (never earlier).
   */
  applyMs: number;
}

/** The allowance on each side of a window: [below min, above max]. */
export function allowanceMs(
  window: Window,
  lab: LabSlack = { latenessMs: 0, applyMs: 0 },
): [early: number, late: number] {
  return [
    toleranceMs(window[0]) + lab.latenessMs,
    toleranceMs(window[1]) + lab.latenessMs + lab.applyMs,
  ];
}
