/**
 * A pod's IP taken over by a new pod with nothing listening: after node loss, a fresh host takes
 * the server's address; the client's next packet that reaches it is answered with RST.
 */
import { freshHostPrediction, REUSE_ALLOWANCE_MS } from './paths.js';
import { count, loseNode } from './shared.js';
import type { FaultDef } from './types.js';

export const ipReuse: FaultDef = {
  summary:
    "node loss, then a fresh host with the server's address and nothing listening answers the next packet with RST",
  params: [],
  testbeds: {
    netns: {
      async apply(ctx) {
        await loseNode(ctx, 'ip-reuse');
        // The lost host is gone for good, and a fresh one takes its address.
        await ctx.router.removeServerHost();
        await ctx.router.addServerHost();
        await ctx.router.removeRules('node-loss');
        ctx.mark({ type: 'fresh_host_up' });
        ctx.mark({ type: 'fault', name: 'ip-reuse', phase: 'applied' });
      },
      describe: ({ wire }) =>
        `router dropped ${count(wire, 'node-loss:0')} packets to the lost host; a fresh host took its address`,
    },
  },
  reconnectFrom: null,
  // The sink lived on the lost host.
  takesSink: true,
  peerAlive: false,
  predict: (spec) => freshHostPrediction(spec, REUSE_ALLOWANCE_MS),
};
