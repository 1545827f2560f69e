/**
 * ws: the ping/pong heartbeat of ws's README. `client`: the client pings every `pingMs` and gives
 * up on a pong `timeoutMs` late; `server`: the server pings, and the client gives up when the
 * next ping is `timeoutMs` overdue (README: interval + latency); `both`: whichever comes first.
 */
import { sec } from '../core/window.js';
import { keyValues, parseChoice, positiveMs, specMs } from './parse.js';
import { pingTimeout } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export const WS_SIDES = ['client', 'server', 'both'] as const;
export type WsSide = (typeof WS_SIDES)[number];

export interface WsStrategy {
  kind: 'ws';
  pingMs: number;
  timeoutMs: number;
  side: WsSide;
}

export const ws: StrategyDef<WsStrategy> = {
  kind: 'ws',
  usage: 'ws:ping=1s,timeout=1s[,side=client|server|both]',
  help: 'ws README heartbeat: side=client pings and waits for the pong; side=server: the server pings, the client gives up when a ping is timeout overdue; side=both',
  keys: [
    { key: 'ping', required: true, help: 'how often the pinging side pings' },
    {
      key: 'timeout',
      required: true,
      help: 'how late a pong (or the next ping) may be before the client gives up',
    },
    { key: 'side', default: 'client', help: 'who pings: client, server or both' },
  ],
  kernel: null,
  ownClientOnly: () => null,
  parse(body, what) {
    const kv = keyValues(body, what, ['ping', 'timeout'], ['side']);
    return {
      kind: 'ws',
      pingMs: positiveMs(kv.get('ping')!, `${what} ping`),
      timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
      side: parseChoice(kv.get('side') ?? 'client', WS_SIDES, `${what}: side`),
    };
  },
  format: (s) => `ws:ping=${specMs(s.pingMs)},timeout=${specMs(s.timeoutMs)},side=${s.side}`,
  // side=server: the server pings; the client only listens for them.
  probeEveryMs: (s) => (s.side === 'server' ? null : s.pingMs),
  keepaliveProbe: () => null,
  serverPingMs: (s) => (s.side === 'client' ? null : s.pingMs),
  silentPath({ pingMs: p, timeoutMs: t, side }) {
    const how =
      side === 'client'
        ? `the client's first unanswered ping goes out within ${sec(p)} of T0, and ${sec(t)} later it gives up`
        : side === 'server'
          ? `the server's last ping arrived within ${sec(p)} before T0; the client gives up when the next is ${sec(t)} overdue`
          : `the client gives up on a pong or on the server's next ping, each ${sec(t)} overdue, within ${sec(p)} + ${sec(t)} of T0`;
    return { window: [t, p + t], why: `ws (side=${side}): ${how}: (${sec(t)}, ${sec(p + t)}]` };
  },
  tune: (ask) =>
    pingTimeout(ask, (p, t) => ({ kind: 'ws', pingMs: p, timeoutMs: t, side: 'client' }), 'ws'),
  tuneNotes: [],
};
