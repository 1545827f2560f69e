import { loseNode } from './node-loss.js';
import type { NetnsFault } from './types.js';

/**
 * A proxy or sidecar in the path whose upstream died silently: the client talks to a proxy in
 * the router namespace, which stays healthy; the router drops everything between the proxy and
 * the server, then the target dies behind the drop. The client's TCP sees a live peer (the
 * proxy's kernel), so only what crosses the proxy end to end, pings and acks, can notice.
 */
export const proxyDeadUpstream: NetnsFault = {
  wire: "the client's connection ends at a proxy in the router, which stays healthy; the router drops everything between the proxy and the server, then the target is killed behind the drop",
  async apply(ctx) {
    // The proxy's own traffic to the server leaves and enters the router: OUTPUT and INPUT.
    await loseNode(ctx, 'proxy-dead-upstream', {
      tag: 'proxy-dead-upstream',
      out: 'OUTPUT',
      in: 'INPUT',
    });
    ctx.mark({ type: 'fault', name: 'proxy-dead-upstream', phase: 'applied' });
  },
};
