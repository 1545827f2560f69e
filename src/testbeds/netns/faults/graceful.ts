import type { NetnsFault } from './types.js';

/** Pod deleted normally: SIGTERM to the target, which closes its connections (FIN). */
export const graceful: NetnsFault = {
  wire: 'SIGTERM to the target; it closes its connections: FIN reaches the client',
  apply(ctx) {
    ctx.mark({ type: 'fault', name: 'graceful', phase: 'start' });
    ctx.target.kill('SIGTERM');
    ctx.mark({ type: 'target_signal', signal: 'SIGTERM' });
    ctx.mark({ type: 'fault', name: 'graceful', phase: 'applied' });
    return Promise.resolve();
  },
};
