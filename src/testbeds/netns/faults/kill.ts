import type { NetnsFault } from './types.js';

/** Container killed on a live node: SIGKILL; the target's kernel closes its sockets. */
export const kill: NetnsFault = {
  wire: 'SIGKILL to the target; its kernel sends FIN (RST if unread data was queued)',
  async apply(ctx) {
    ctx.mark({ type: 'fault', name: 'kill', phase: 'start' });
    ctx.target.kill('SIGKILL');
    ctx.mark({ type: 'target_signal', signal: 'SIGKILL' });
    await ctx.target.exited;
    ctx.mark({ type: 'fault', name: 'kill', phase: 'applied' });
  },
};
