/** The lab's TCP client's own heartbeat: PING every interval, no PONG within timeout fails. */
import { sec } from '../core/window.js';
import { keyValues, positiveMs, specMs } from './parse.js';
import { pingTimeout } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface HeartbeatStrategy {
  kind: 'heartbeat';
  intervalMs: number;
  timeoutMs: number;
}

export const heartbeat: StrategyDef<HeartbeatStrategy> = {
  kind: 'heartbeat',
  usage: 'heartbeat:interval=1s,timeout=2s',
  help: 'application PING every interval; no PONG within timeout fails',
  keys: [
    { key: 'interval', required: true, help: 'how often the client sends PING' },
    { key: 'timeout', required: true, help: 'how long it waits for the PONG' },
  ],
  kernel: null,
  ownClientOnly: () => null,
  parse(body, what) {
    const kv = keyValues(body, what, ['interval', 'timeout']);
    return {
      kind: 'heartbeat',
      intervalMs: positiveMs(kv.get('interval')!, `${what} interval`),
      timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
    };
  },
  format: (s) => `heartbeat:interval=${specMs(s.intervalMs)},timeout=${specMs(s.timeoutMs)}`,
  probeEveryMs: (s) => s.intervalMs,
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath({ intervalMs: i, timeoutMs: t }) {
    return {
      window: [t, i + t],
      why: `heartbeat: first unanswered ping within interval ${sec(i)} of T0, then timeout ${sec(t)}: (${sec(t)}, ${sec(i + t)}]`,
    };
  },
  tune: (ask) =>
    pingTimeout(ask, (p, t) => ({ kind: 'heartbeat', intervalMs: p, timeoutMs: t }), 'heartbeat'),
  tuneNotes: [],
};
