import type { NetnsFault } from './types.js';

/** Network partition: the router drops every packet between client and server, both ways. */
export const partition: NetnsFault = {
  wire: 'router drops every packet between client and server, both ways; heal removes the drop',
  async apply(ctx) {
    const { client, server } = ctx.bed.addr;
    ctx.mark({ type: 'fault', name: 'partition', phase: 'start' });
    await ctx.bed.addRules('partition', [
      `FORWARD -s ${client}/32 -d ${server}/32 -j DROP`,
      `FORWARD -s ${server}/32 -d ${client}/32 -j DROP`,
    ]);
    ctx.mark({ type: 'fault', name: 'partition', phase: 'applied' });
  },
  async heal(ctx) {
    ctx.mark({ type: 'heal', phase: 'start' });
    ctx.mark({ type: 'heal', phase: 'applied' });
    await ctx.bed.removeRules('partition');
  },
};
