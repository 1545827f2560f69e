import { loseNode } from './node-loss.js';
import type { NetnsFault } from './types.js';

/**
 * After node loss, a fresh host takes the server's address with nothing listening: the client's
 * next packet that reaches it is answered by that host's kernel with RST.
 */
export const ipReuse: NetnsFault = {
  wire: "node loss, then a fresh host with the server's address and nothing listening answers the next packet with RST",
  async apply(ctx) {
    await loseNode(ctx, 'ip-reuse');
    await ctx.bed.replaceServerHost();
    await ctx.bed.removeRules('node-loss');
    ctx.mark({ type: 'fresh_host_up' });
    ctx.mark({ type: 'fault', name: 'ip-reuse', phase: 'applied' });
  },
};
