/** node:http2: session.ping() every `pingMs`; an ack `timeoutMs` late ends the session. */
import { sec } from '../core/window.js';
import { keyValues, positiveMs, specMs } from './parse.js';
import { pingTimeout } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface H2Strategy {
  kind: 'h2';
  pingMs: number;
  timeoutMs: number;
}

export const h2: StrategyDef<H2Strategy> = {
  kind: 'h2',
  usage: 'h2:ping=1s,timeout=1s',
  help: 'session.ping() every ping; no ack within timeout ends the session',
  keys: [
    { key: 'ping', required: true, help: 'how often the client calls session.ping()' },
    { key: 'timeout', required: true, help: 'how long the ack may take before the session ends' },
  ],
  kernel: null,
  ownClientOnly: () => null,
  parse(body, what) {
    const kv = keyValues(body, what, ['ping', 'timeout']);
    return {
      kind: 'h2',
      pingMs: positiveMs(kv.get('ping')!, `${what} ping`),
      timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
    };
  },
  format: (s) => `h2:ping=${specMs(s.pingMs)},timeout=${specMs(s.timeoutMs)}`,
  probeEveryMs: (s) => s.pingMs,
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath({ pingMs: p, timeoutMs: t }) {
    return {
      window: [t, p + t],
      why: `http2: session.ping() every ${sec(p)}; the first unanswered one goes out within ${sec(p)} of T0 and ends the session ${sec(t)} later: (${sec(t)}, ${sec(p + t)}]`,
    };
  },
  tune: (ask) => pingTimeout(ask, (p, t) => ({ kind: 'h2', pingMs: p, timeoutMs: t }), 'http2'),
  tuneNotes: [],
};
