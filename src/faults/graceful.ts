/** Pod deleted normally: SIGTERM to the target, which closes its connections (FIN). */
import { immediate } from './paths.js';
import { RESTART } from './params.js';
import { signalTarget } from './shared.js';
import type { FaultDef } from './types.js';

const sigterm = signalTarget(
  'graceful',
  'SIGTERM',
  () => 'SIGTERM to the target, which closed its connections with FIN',
);

export const graceful: FaultDef = {
  summary: 'SIGTERM to the target; it closes its connections: FIN reaches the client',
  params: [RESTART],
  testbeds: {
    netns: sigterm,
    proxy: { ...sigterm, describe: () => 'SIGTERM to the target; its FIN crossed the fault proxy' },
  },
  reconnectFrom: null,
  takesSink: false,
  peerAlive: false,
  predict: () => immediate('the target closes its sockets: FIN arrives at once'),
};
