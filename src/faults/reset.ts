/**
 * A middlebox forgets the flow and answers it with RST: the router rejects the established
 * connection's packets (both directions) with a TCP reset. New connections pass.
 */
import { immediate, nextPacketPrediction } from '../advise/paths.js';
import { addToxics, count } from './shared.js';
import type { FaultDef } from './types.js';

export const reset: FaultDef = {
  summary:
    "router answers the connection's next packet (either direction) with TCP RST; new connections pass",
  params: [],
  testbeds: {
    netns: {
      needsFlow: true,
      async apply(ctx) {
        const { client: c, server: s } = ctx.flow;
        ctx.mark({ type: 'fault', name: 'reset', phase: 'start' });
        await ctx.router.addRules('reset', [
          `FORWARD -p tcp -s ${c.address}/32 --sport ${c.port} -d ${s.address}/32 --dport ${s.port} -j REJECT --reject-with tcp-reset`,
          `FORWARD -p tcp -s ${s.address}/32 --sport ${s.port} -d ${c.address}/32 --dport ${c.port} -j REJECT --reject-with tcp-reset`,
        ]);
        ctx.mark({ type: 'fault', name: 'reset', phase: 'applied' });
      },
      describe: ({ wire }) =>
        `router answered ${count(wire, 'reset:0')} client packets and ${count(wire, 'reset:1')} server packets with RST`,
    },
    proxy: {
      apply: (ctx) =>
        addToxics(ctx, 'reset', [{ name: 'reset', type: 'reset_peer', stream: 'downstream' }]),
      describe: () => 'the fault proxy reset the connection (RST to both sides)',
      // reset_peer resets both sides the moment it arrives, whatever the client sends.
      predict: () => immediate('the fault proxy sends RST to both sides at once'),
    },
  },
  reconnectFrom: 'detection',
  takesSink: false,
  peerAlive: false,
  predict: nextPacketPrediction,
};
