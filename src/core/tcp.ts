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
  return (
    ((2 << linearBackoffThresh) - 1) * rtoMinMs + (retries2 - linearBackoffThresh) * RTO_MAX_MS
  );
}

/**
 * Upper bound on when the next retransmission after `afterMs` happens, for data first sent at 0:
 * retransmissions go out at RTO_MIN * (2^k - 1), so the gap after any instant is at most the
 * instant itself plus one RTO_MIN.
 */
export function nextRetransmissionBoundMs(afterMs: number): number {
  return 2 * afterMs + RTO_MIN_MS;
}

/** This lab's kernel clock (CONFIG_HZ=250 in /proc/config.gz): 4 ms a jiffy. */
export const KERNEL_HZ = 250;

/**
 * How late the kernel's timer wheel may fire a timer armed `delayMs` ahead (kernel/time/timer.c,
 * calc_wheel_index() and calc_index()). The wheel keeps a timer at level L when its delta is under
 * 63 x 8^L jiffies, with a granularity of 8^L jiffies, and rounds the expiry up to the next
 * multiple of that granularity so that nothing fires early: a timer fires up to one granularity
 * late, never early. At HZ=250: 4 ms for delays under 252 ms, 32 ms under 2.016 s, 256 ms under
 * 16.13 s, 2.048 s under 129 s, 16.4 s under 17.2 min, 131 s beyond. The TCP keepalive and
 * retransmission timers are such timers, and each firing re-arms the next from the moment it ran,
 * so the lateness adds up along a chain of them.
 */
export function timerSlackMs(delayMs: number, hz = KERNEL_HZ): number {
  const jiffies = Math.ceil((delayMs * hz) / 1000);
  let granularity = 1;
  while (jiffies >= 63 * granularity && granularity < 8 ** 8) granularity *= 8;
  return (granularity * 1000) / hz;
}

/**
 * The latest a keepalive socket gives up after its last ACK: the probe after `idle`, then `count`
 * firings `interval` apart (the last finds every probe unanswered), each up to one timer-wheel
 * step late, each armed when the one before ran (tcp_keepalive_timer()).
 */
export const keepaliveWorstMs = (idleMs: number, intervalMs: number, count: number): number =>
  idleMs + count * intervalMs + timerSlackMs(idleMs) + count * timerSlackMs(intervalMs);

/** One kernel clock tick at the coarsest common HZ (100): timers round up to ticks. */
export const JIFFY_MAX_MS = 10;

/**
 * Tail loss probe (tcp_early_retrans=3, the default): after the first unacknowledged send the
 * kernel first sends a probe after PTO = srtt/4 + RTO_MIN when one segment is in flight (a few
 * ms when more are), and the RTO timer restarts from it.
 */
export const PTO_MAX_MS = RTO_MIN_MS + JIFFY_MAX_MS;

/** RTO_MIN rounded up to the kernel's clock tick, plus the (sub-ms) smoothed RTT on veth. */
export const RTO_TICK_MS = RTO_MIN_MS + JIFFY_MAX_MS;

/**
 * The kernel's timeouts (tcp_retries2, TCP_USER_TIMEOUT) count from the first retransmission
 * (retrans_stamp), which is the loss probe or the first RTO retransmission depending on what is
 * queued: at most PTO + RTO after the first unacknowledged send. Measured here (HZ=250, RTO
 * 204 ms): user-timeout 3 s fires 3.22 s after the first unacknowledged send; tcp_retries2=3
 * gives up after 6.6 s and tcp_retries2=5 after 13.1 s.
 */
export const RETRANS_STAMP_MAX_MS = PTO_MAX_MS + RTO_TICK_MS;

/**
 * [earliest, latest] time from the first unacknowledged send to ETIMEDOUT for tcp_retries2.
 * Earliest: the timeout itself (no probe, an RTO of exactly RTO_MIN, counted from the send).
 * Latest: counted from the latest first retransmission, detected at the first RTO firing
 * (probe, then RTO_TICK doubling) at or after that.
 */
export function retransmissionWindowMs(retries2: number): [number, number] {
  const timeout = retransmissionTimeoutMs(retries2);
  let fire = PTO_MAX_MS;
  let rto = RTO_TICK_MS;
  while (fire < RETRANS_STAMP_MAX_MS + timeout) {
    fire += rto;
    rto = Math.min(rto * 2, RTO_MAX_MS);
  }
  return [timeout, fire];
}

/**
 * [earliest, latest] from the first unacknowledged send to ETIMEDOUT under TCP_USER_TIMEOUT. The
 * kernel clamps the RTO timer to the remaining user timeout, so it fires on time.
 */
export function userTimeoutWindowMs(userTimeoutMs: number): [number, number] {
  return [userTimeoutMs, userTimeoutMs + RETRANS_STAMP_MAX_MS + JIFFY_MAX_MS];
}
