/** SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT (Linux TCP in docs/facts.md). */
import { keepaliveWorstMs } from '../core/tcp.js';
import { retransmission, sec } from '../core/window.js';
import { integerIn, keyValues, specMs, TCP_KEEPALIVE_MAX_S, wholeSeconds } from './parse.js';
import { ceilTo, floorTo, periodCap } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface KeepaliveStrategy {
  kind: 'keepalive';
  idleMs: number;
  intervalMs: number;
  count: number;
}

export const keepalive: StrategyDef<KeepaliveStrategy> = {
  kind: 'keepalive',
  usage: 'keepalive:idle=2s,interval=1s,count=3',
  ownClientOnly: () => null,
  help: 'SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT',
  keys: [
    {
      key: 'idle',
      required: true,
      help: 'TCP_KEEPIDLE: idle time before the first probe (whole seconds)',
    },
    { key: 'interval', required: true, help: 'TCP_KEEPINTVL: time between probes (whole seconds)' },
    {
      key: 'count',
      required: true,
      help: 'TCP_KEEPCNT: unanswered probes before the connection fails (1 to 127)',
    },
  ],
  kernel: {
    sockopts: (s) => ({
      keepalive: { idleMs: s.idleMs, intervalMs: s.intervalMs, count: s.count },
    }),
  },
  parse(body, what) {
    const kv = keyValues(body, what, ['idle', 'interval', 'count']);
    return {
      kind: 'keepalive',
      idleMs: wholeSeconds(kv.get('idle')!, `${what} idle`),
      intervalMs: wholeSeconds(kv.get('interval')!, `${what} interval`),
      count: integerIn(kv.get('count')!, `${what}: count`, 1, 127),
    };
  },
  format: (s) =>
    `keepalive:idle=${specMs(s.idleMs)},interval=${specMs(s.intervalMs)},count=${s.count}`,
  probeEveryMs: () => null,
  keepaliveProbe: (s) => ({ idleMs: s.idleMs, intervalMs: s.intervalMs }),
  serverPingMs: () => null,
  silentPath(s, c) {
    if (c.workload.kind === 'publish') {
      const r = retransmission(c);
      return { ...r, why: `keepalive probes only go out when nothing is unacknowledged; ${r.why}` };
    }
    const { idleMs: i, intervalMs: v, count: n } = s;
    // The first probe and each of the n firings after it come up to one timer-wheel granularity
    // late (timerSlackMs), and each firing arms the next.
    const max = keepaliveWorstMs(i, v, n);
    return {
      window: [n * v, max],
      why: `keepalive: last ACK within idle before T0, then idle ${sec(i)} + interval ${sec(v)} x count ${n}, each of those ${n + 1} kernel timers up to one timer-wheel step late (${sec(max - i - n * v)} in all): (${sec(n * v)}, ${sec(max)}]`,
    };
  },
  tune(ask) {
    if (ask.workload.kind === 'publish')
      return 'keepalive probes only an idle socket (nothing unacknowledged): a publishing client needs user-timeout (below), or both';
    // At least two probes (one may be lost), spaced so that together they wait as long as a
    // healthy ACK may take; of those, the count that leaves the longest idle time.
    const cap = Math.min(floorTo(periodCap(ask), 1000), TCP_KEEPALIVE_MAX_S * 1000);
    let best: { count: number; interval: number; idle: number } | null = null;
    for (let count = 2; count <= 9; count++) {
      const interval = Math.max(1000, ceilTo(ask.tolerateMs / count, 1000));
      if (interval > TCP_KEEPALIVE_MAX_S * 1000) continue;
      // The kernel's timers may each fire a timer-wheel step late (tcp.ts keepaliveWorstMs).
      let idle = Math.min(floorTo(ask.withinMs - count * interval, 1000), cap);
      while (idle >= 1000 && keepaliveWorstMs(idle, interval, count) > ask.withinMs) idle -= 1000;
      if (idle >= 1000 && (!best || idle > best.idle)) best = { count, interval, idle };
    }
    if (!best)
      return cap < 1000
        ? `keepalive counts whole seconds: the path's idle timeout leaves less than 1s between probes`
        : `keepalive counts whole seconds: 2 or more probes that wait ${sec(ask.tolerateMs)} together leave no idle time within ${sec(ask.withinMs)}`;
    const { count, interval, idle } = best;
    return {
      strategy: { kind: 'keepalive', idleMs: idle, intervalMs: interval, count },
      probeEveryMs: idle,
      toleratesMs: count * interval,
      why: `keepalive (whole seconds): ${count} probes ${sec(interval)} apart tolerate a ${sec(count * interval)} late ACK; idle ${sec(idle)} fills the rest${idle === cap ? " (capped by the path's idle timeout)" : ''}: at worst ${sec(keepaliveWorstMs(idle, interval, count))}, with the kernel timers' steps`,
      notes: [
        `for data in flight set TCP_USER_TIMEOUT to ${sec(idle + count * interval)} too: with keepalive on, Linux uses it in place of the probe count`,
      ],
    };
  },
  tuneNotes: [],
};
