import type { NetnsFault } from './types.js';

/**
 * A stateful middlebox (a cloud load balancer, a NAT gateway, a firewall) forgets flows that stay
 * idle too long. The router tracks every flow in its own conntrack table from the start, with
 * mid-stream pickup off (nf_conntrack_tcp_loose=0), so a packet of a forgotten flow is INVALID and
 * meets the middlebox rule the testbed installed at build time: DROP, or REJECT with RST.
 *
 * At T0 the router's established-flow timeout becomes the idle timeout, for new flows and for the
 * entries it already holds: a flow is forgotten once no packet has crossed it for that long.
 */
export const idleTimeout: NetnsFault = {
  wire: 'the router (a stateful middlebox) forgets a flow idle for --idle-timeout: its next packet is dropped (--on-expiry drop) or answered with RST (reset); new connections pass',
  async apply(ctx) {
    const seconds = Math.round(ctx.bed.idleTimeoutMs() / 1000);
    ctx.mark({ type: 'fault', name: 'idle-timeout', phase: 'start' });
    await ctx.bed.setFlowTimeout(seconds);
    ctx.mark({ type: 'fault', name: 'idle-timeout', phase: 'applied' });
  },
};
