/**
 * Linux TCP timing, as the kernel computes it (net/ipv4/tcp_timer.c). Pure functions.
 */

/** TCP_RTO_MIN and TCP_RTO_MAX (include/net/tcp.h). */
export const RTO_MIN_MS = 200;
export const RTO_MAX_MS = 120_000;
export const DEFAULT_TCP_RETRIES2 = 15;

/**
 * How long a socket with unacknowledged data keeps retransmitting before the kernel gives up
 * (ETIMEDOUT), for a given tcp_retries2. Mirrors tcp_model_timeout(): the RTO doubles from
 * RTO_MIN until it reaches RTO_MAX, then stays there. tcp_retries2=15 gives 924.6 s.
 */
export function retransmissionTimeoutMs(retries2: number, rtoMinMs = RTO_MIN_MS): number {
  const linearBackoffThresh = Math.floor(Math.log2(RTO_MAX_MS / rtoMinMs));
  if (retries2 <= linearBackoffThresh) return ((2 << retries2) - 1) * rtoMinMs;
  return ((2 << linearBackoffThresh) - 1) * rtoMinMs + (retries2 - linearBackoffThresh) * RTO_MAX_MS;
}

/**
 * Upper bound on when the next retransmission after `afterMs` happens, for data first sent at 0:
 * retransmissions go out at RTO_MIN * (2^k - 1), so the gap after any instant is at most the
 * instant itself plus one RTO_MIN.
 */
export function nextRetransmissionBoundMs(afterMs: number): number {
  return 2 * afterMs + RTO_MIN_MS;
}
