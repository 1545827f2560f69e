import type { NetnsFault } from './types.js';

/**
 * A middlebox forgets the flow and answers it with RST: the router rejects the established
 * connection's packets (both directions) with a TCP reset. New connections pass.
 */
export const reset: NetnsFault = {
  needsFlow: true,
  wire: "router answers the connection's next packet (either direction) with TCP RST; new connections pass",
  async apply(ctx) {
    const { client: c, server: s } = ctx.flow;
    ctx.mark({ type: 'fault', name: 'reset', phase: 'start' });
    await ctx.bed.addRules('reset', [
      `FORWARD -p tcp -s ${c.address}/32 --sport ${c.port} -d ${s.address}/32 --dport ${s.port} -j REJECT --reject-with tcp-reset`,
      `FORWARD -p tcp -s ${s.address}/32 --sport ${s.port} -d ${c.address}/32 --dport ${c.port} -j REJECT --reject-with tcp-reset`,
    ]);
    ctx.mark({ type: 'fault', name: 'reset', phase: 'applied' });
  },
};
