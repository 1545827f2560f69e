import type { FaultContext, NetnsFault } from './types.js';

/**
 * The server's node vanishes: the router drops everything to and from it, then the target dies
 * behind the drop, so not even its kernel's FIN gets out.
 */
export async function loseNode(
  ctx: FaultContext,
  name: string,
  /** Where the drop sits: forwarded traffic, or (a proxy in the router) its own. */
  chains: { tag: string; out: string; in: string } = {
    tag: 'node-loss',
    out: 'FORWARD',
    in: 'FORWARD',
  },
): Promise<void> {
  const { server } = ctx.bed.addr;
  ctx.mark({ type: 'fault', name, phase: 'start' });
  await ctx.bed.addRules(chains.tag, [
    `${chains.out} -d ${server}/32 -j DROP`,
    `${chains.in} -s ${server}/32 -j DROP`,
  ]);
  ctx.target.kill('SIGKILL');
  ctx.mark({ type: 'target_signal', signal: 'SIGKILL' });
  await ctx.target.exited;
}

export const nodeLoss: NetnsFault = {
  wire: 'router drops everything to and from the server, then the target is killed behind the drop: nothing ever arrives',
  async apply(ctx) {
    await loseNode(ctx, 'node-loss');
    ctx.mark({ type: 'fault', name: 'node-loss', phase: 'applied' });
  },
  // The replacement comes back where the old one was (a Service's address, a StatefulSet pod).
  async beforeRestart(ctx) {
    await ctx.bed.removeRules('node-loss');
  },
};
