/** Container killed on a live node: SIGKILL; the target's kernel closes its sockets. */
import { immediate } from './paths.js';
import { RESTART } from './params.js';
import { signalTarget } from './shared.js';
import type { FaultDef } from './types.js';

const sigkill = signalTarget(
  'kill',
  'SIGKILL',
  () => 'SIGKILL to the target; its kernel closed the connection',
);

export const kill: FaultDef = {
  summary: 'SIGKILL to the target; its kernel sends FIN (RST if unread data was queued)',
  params: [RESTART],
  testbeds: {
    netns: sigkill,
    proxy: {
      ...sigkill,
      describe: () => "SIGKILL to the target; its kernel's FIN crossed the fault proxy",
    },
  },
  reconnectFrom: null,
  takesSink: false,
  peerAlive: false,
  predict: () => immediate("the target's kernel closes its sockets: FIN (or RST) arrives at once"),
};
