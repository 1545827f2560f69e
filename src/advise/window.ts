/**
 * The shape of a prediction, and the pieces of formula that several strategies and faults share.
 * Pure. The facts behind each formula, with their sources: docs/facts.md.
 */
import { sendGapMs, type Workload } from '../scenario/workload.js';
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
 * Tolerance around a predicted window: timers, process scheduling and the time to apply the fault
 * (an iptables call, a signal) on a noisy two-core machine. 150 ms plus 5 % of the bound.
 */
export const toleranceMs = (boundMs: number): number => 150 + 0.05 * boundMs;
