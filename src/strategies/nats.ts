/**
 * nats.js: pingInterval, maxPingOut, reconnectTimeWait, maxReconnectAttempts (-1: forever). The
 * ping timer ticks every pingInterval from connect, not reset by traffic (NATS in docs/facts.md).
 * `lib=` names another library whose rule applies (nats.go, jnats, nats.py: nats-libs.ts).
 */
import { sec } from '../core/window.js';
import { BadInputError } from '../errors.js';
import { NATS_LIBS, NATS_RULES, type NatsLib } from './nats-libs.js';
import { integerIn, keyValues, parseChoice, positiveMs, specMs } from './parse.js';
import { floorTo, periodCap } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface NatsStrategy {
  kind: 'nats';
  pingMs: number;
  maxOut: number;
  waitMs: number;
  attempts: number;
  /** The client library whose ping rule applies (js: nats.js, the lab's own client). */
  lib: NatsLib;
}

/** The library `ask.lib` names, when it is one of NATS's (an `--emit` library's rule). */
const askedLib = (lib: string | undefined): NatsLib =>
  (NATS_LIBS as readonly string[]).includes(lib ?? '') ? (lib as NatsLib) : 'js';

export const nats: StrategyDef<NatsStrategy> = {
  kind: 'nats',
  usage: 'nats:ping=5s,maxout=2[,wait=2s,attempts=10,lib=go]',
  help: "nats.js pingInterval, maxPingOut, reconnectTimeWait, maxReconnectAttempts (-1: forever); lib=go|java|py: that library's ping rule (your own client)",
  keys: [
    { key: 'ping', required: true, help: 'pingInterval: how often the client pings the server' },
    {
      key: 'maxout',
      required: true,
      help: 'maxPingOut: unanswered pings before the connection is stale',
    },
    { key: 'wait', default: '2s', help: 'reconnectTimeWait: the pause between reconnect attempts' },
    {
      key: 'attempts',
      default: '10',
      help: 'maxReconnectAttempts: reconnect attempts before giving up (-1: forever)',
    },
    {
      key: 'lib',
      default: 'js',
      help: "whose ping rule applies: js (nats.js, the lab's client); go, java, py for your own",
    },
  ],
  kernel: null,
  ownClientOnly: (s) =>
    s.lib === 'js'
      ? null
      : `lib=${s.lib} describes your own client (--client-cmd); the lab's built-in nats client is nats.js (leave lib= out)`,
  parse(body, what) {
    // Library defaults (nats.js core/src/options.ts) for what the user leaves out.
    const kv = keyValues(body, what, ['ping', 'maxout'], ['wait', 'attempts', 'lib']);
    const attempts = integerIn(kv.get('attempts') ?? '10', `${what}: attempts`, -1, 1_000_000);
    if (attempts === 0) throw new BadInputError(`${what}: attempts must be -1 (forever) or >= 1`);
    return {
      kind: 'nats',
      pingMs: positiveMs(kv.get('ping')!, `${what} ping`),
      maxOut: integerIn(kv.get('maxout')!, `${what}: maxout`, 1, 1000),
      waitMs: positiveMs(kv.get('wait') ?? '2s', `${what} wait`),
      attempts,
      lib: parseChoice(kv.get('lib') ?? 'js', NATS_LIBS, `${what}: lib`),
    };
  },
  format: (s) =>
    `nats:ping=${specMs(s.pingMs)},maxout=${s.maxOut},wait=${specMs(s.waitMs)},attempts=${s.attempts}${s.lib === 'js' ? '' : `,lib=${s.lib}`}`,
  probeEveryMs: (s) => s.pingMs,
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath({ pingMs: p, maxOut: n, lib }, c) {
    const rule = NATS_RULES[lib];
    const last = n + 1 + rule.extraTicks(c.workload);
    return {
      window: [n * p, last * p],
      why: `${rule.name}: ${rule.timer.replace('{p}', sec(p))}; the tick that finds maxPingOut ${n} pings unanswered is stale: tick ${n + 1}${last > n + 1 ? ` (${last} after a message)` : ''} after T0, (${sec(n * p)}, ${sec(last * p)}]`,
    };
  },
  tune(ask) {
    // nats.js: stale on the tick that finds maxPingOut (m) pings unanswered, (m + 1) ticks at
    // worst (more for a library that skips ticks); a healthy PONG may be up to m ticks late. The
    // smallest m that tolerates enough pings least often.
    const lib = askedLib(ask.lib);
    const rule = NATS_RULES[lib];
    const extra = rule.extraTicks(ask.workload);
    const cap = floorTo(periodCap(ask), 100);
    for (let maxOut = 1; maxOut <= 10; maxOut++) {
      const ping = Math.min(floorTo(ask.withinMs / (maxOut + 1 + extra), 100), cap);
      if (ping < 100) break;
      if (maxOut * ping < ask.tolerateMs) continue;
      return {
        strategy: { kind: 'nats', pingMs: ping, maxOut, waitMs: 2000, attempts: -1, lib },
        probeEveryMs: ping,
        toleratesMs: maxOut * ping,
        why: `${rule.name}: stale on the tick that finds maxPingOut ${maxOut} unanswered: (maxout + ${1 + extra}) x ping <= ${sec(ask.withinMs)}${ping === cap ? " (ping capped by the path's idle timeout)" : ''}; a PONG may be ${sec(maxOut * ping)} late`,
      };
    }
    return `nats: no maxPingOut up to 10 lets a PONG be ${sec(ask.tolerateMs)} late with pings ${cap < Infinity ? `under ${sec(cap)} ` : ''}that notice within ${sec(ask.withinMs)}`;
  },
  tuneNotes: [
    'attempts=-1 keeps reconnecting (by default nats.js gives up after 10 attempts, nats.node #173; nats.go, jnats and nats.py after 60)',
  ],
};
