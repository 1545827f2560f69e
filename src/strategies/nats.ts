/**
 * nats.js: pingInterval, maxPingOut, reconnectTimeWait, maxReconnectAttempts (-1: forever). The
 * ping timer ticks every pingInterval from connect, not reset by traffic (NATS in docs/facts.md).
 */
import { sec } from '../core/window.js';
import { BadInputError } from '../errors.js';
import { integerIn, keyValues, positiveMs, specMs } from './parse.js';
import { floorTo, periodCap } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface NatsStrategy {
  kind: 'nats';
  pingMs: number;
  maxOut: number;
  waitMs: number;
  attempts: number;
}

export const nats: StrategyDef<NatsStrategy> = {
  kind: 'nats',
  usage: 'nats:ping=5s,maxout=2[,wait=2s,attempts=10]',
  help: 'nats.js pingInterval, maxPingOut, reconnectTimeWait, maxReconnectAttempts (-1: forever)',
  kernel: null,
  parse(body, what) {
    // Library defaults (nats.js core/src/options.ts) for what the user leaves out.
    const kv = keyValues(body, what, ['ping', 'maxout'], ['wait', 'attempts']);
    const attempts = integerIn(kv.get('attempts') ?? '10', `${what}: attempts`, -1, 1_000_000);
    if (attempts === 0) throw new BadInputError(`${what}: attempts must be -1 (forever) or >= 1`);
    return {
      kind: 'nats',
      pingMs: positiveMs(kv.get('ping')!, `${what} ping`),
      maxOut: integerIn(kv.get('maxout')!, `${what}: maxout`, 1, 1000),
      waitMs: positiveMs(kv.get('wait') ?? '2s', `${what} wait`),
      attempts,
    };
  },
  format: (s) =>
    `nats:ping=${specMs(s.pingMs)},maxout=${s.maxOut},wait=${specMs(s.waitMs)},attempts=${s.attempts}`,
  probeEveryMs: (s) => s.pingMs,
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath({ pingMs: p, maxOut: n }) {
    return {
      window: [n * p, (n + 1) * p],
      why: `nats.js: a ping timer every ${sec(p)} from connect, not reset by traffic; the tick that finds maxPingOut ${n} pings unanswered is stale: tick ${n + 1} after T0, (${sec(n * p)}, ${sec((n + 1) * p)}]`,
    };
  },
  tune(ask) {
    // nats.js: stale on the tick that finds maxPingOut (m) pings unanswered, (m + 1) ticks at
    // worst; a healthy PONG may be up to m ticks late. The smallest m that tolerates enough
    // pings least often.
    const cap = floorTo(periodCap(ask), 100);
    for (let maxOut = 1; maxOut <= 10; maxOut++) {
      const ping = Math.min(floorTo(ask.withinMs / (maxOut + 1), 100), cap);
      if (ping < 100) break;
      if (maxOut * ping < ask.tolerateMs) continue;
      return {
        strategy: { kind: 'nats', pingMs: ping, maxOut, waitMs: 2000, attempts: -1 },
        probeEveryMs: ping,
        toleratesMs: maxOut * ping,
        why: `nats.js: stale on the tick that finds maxPingOut ${maxOut} unanswered: (maxout + 1) x ping <= ${sec(ask.withinMs)}${ping === cap ? " (ping capped by the path's idle timeout)" : ''}; a PONG may be ${sec(maxOut * ping)} late`,
      };
    }
    return `nats: no maxPingOut up to 10 lets a PONG be ${sec(ask.tolerateMs)} late with pings ${cap < Infinity ? `under ${sec(cap)} ` : ''}that notice within ${sec(ask.withinMs)}`;
  },
  tuneNotes: [
    'attempts=-1 keeps reconnecting (the default gives up after 10 attempts, nats.node #173)',
  ],
};
