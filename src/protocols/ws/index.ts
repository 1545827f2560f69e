/** WebSocket: the lab's ws server (its own sink; it pushes to subscribers) and a ws client. */
import { appTarget, entryArgv, packageVersion, QUICK } from '../launch.js';
import type { ProtocolDef } from '../types.js';

export const ws: ProtocolDef = {
  target: appTarget(
    import.meta.url,
    8080,
    'built-in WebSocket server (ws) and sink',
    `ws ${packageVersion('ws')}`,
    'ws',
  ),
  client: {
    argv: (a) => entryArgv(import.meta.url, './client.js', { ...a, ...QUICK }),
    library: `ws ${packageVersion('ws')}`,
  },
  sink: null,
  pushes: 'target',
  // ws has no heartbeat of its own: none unless told to.
  strategies: ['none', 'ws'],
  defaultStrategy: 'none',
  qos: false,
  nagle: false,
  url: (h, p) => `ws://${h}:${p}/`,
  // The server pings only as a strategy's side=server|both asks (StrategyDef.serverPingMs).
  serverPings: null,
};
