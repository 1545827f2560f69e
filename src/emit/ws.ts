/**
 * The ws library has no heartbeat of its own: the code pings on an interval, arms a deadline for
 * the pong, and terminates the socket when it passes (src/strategies/ws.ts, side=client).
 */
import { sec } from '../core/window.js';
import { formatStrategy, type Strategy } from '../strategies/index.js';
import type { WsStrategy } from '../strategies/ws.js';
import type { Emitter } from './types.js';

export const wsEmitter: Emitter = {
  library: 'ws',
  language: 'javascript',
  kinds: ['ws'],
  source:
    'ws README "How to detect and close broken connections?"; WebSocket#ping, the pong event, WebSocket#terminate (doc/ws.md)',
  emit(strategy: Strategy) {
    // emit() (src/emit/index.ts) hands an emitter only strategies of its own kinds.
    const s = { ...(strategy as WsStrategy), side: 'client' as const };
    return `// ${formatStrategy(s)}
// ws has no heartbeat: ping every ${sec(s.pingMs)}, and terminate when a pong is ${sec(s.timeoutMs)} late
// (terminate destroys the socket; close() would wait for a closing handshake that never comes):
// a silent server is noticed within ${sec(s.pingMs + s.timeoutMs)}.
import WebSocket from 'ws';

const ws = new WebSocket(url);
let deadline;
const heartbeat = setInterval(() => {
  if (deadline) return; // a ping is still unanswered
  deadline = setTimeout(() => ws.terminate(), ${s.timeoutMs});
  ws.ping();
}, ${s.pingMs});
ws.on('pong', () => {
  clearTimeout(deadline);
  deadline = undefined;
});
ws.on('close', () => {
  clearInterval(heartbeat);
  clearTimeout(deadline);
  // Reconnect here.
});
`;
  },
};
