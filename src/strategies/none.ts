/** No detection beyond what the kernel does by default. */
import { retransmission } from '../core/window.js';
import { noOptions } from './parse.js';
import type { StrategyDef } from './types.js';

export interface NoneStrategy {
  kind: 'none';
}

export const none: StrategyDef<NoneStrategy> = {
  kind: 'none',
  usage: 'none',
  help: 'no detection beyond what the kernel does by default',
  keys: [],
  kernel: { sockopts: () => ({}) },
  ownClientOnly: () => null,
  parse(body, what) {
    noOptions(body, what, 'none');
    return { kind: 'none' };
  },
  format: () => 'none',
  probeEveryMs: () => null,
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath: (_s, c) =>
    c.workload.kind === 'publish'
      ? retransmission(c)
      : {
          window: null,
          why: 'idle socket without keepalive or heartbeat: nothing is ever sent, so nothing times out',
        },
  tune: null,
  tuneNotes: [],
};
