/** Ways of putting a fault on the wire that several faults share. */
import type {
  FaultContext,
  FaultImpl,
  NetnsFaultContext,
  ProxyFaultContext,
  ToxicSpec,
} from './types.js';

/**
 * A signal to the target process, on any testbed: its kernel closes its sockets (SIGKILL), or the
 * target closes them itself (SIGTERM).
 */
export function signalTarget(
  name: string,
  sig: 'SIGTERM' | 'SIGKILL',
  describe: FaultImpl<FaultContext>['describe'],
): FaultImpl<FaultContext> {
  return {
    async apply(ctx) {
      ctx.mark({ type: 'fault', name, phase: 'start' });
      ctx.target.kill(sig);
      ctx.mark({ type: 'target_signal', signal: sig });
      if (sig === 'SIGKILL') await ctx.target.exited;
      ctx.mark({ type: 'fault', name, phase: 'applied' });
    },
    describe,
  };
}

/**
 * The server's node vanishes: the router drops everything to and from it, then the target dies
 * behind the drop, so not even its kernel's FIN gets out.
 */
export async function loseNode(
  ctx: NetnsFaultContext,
  name: string,
  /** Where the drop sits: forwarded traffic, or (a proxy in the router) its own. */
  chains: { tag: string; out: string; in: string } = {
    tag: 'node-loss',
    out: 'FORWARD',
    in: 'FORWARD',
  },
): Promise<void> {
  const { server } = ctx.router.addr;
  const armed = await ctx.router.armRules(chains.tag, [
    `${chains.out} -d ${server}/32 -j DROP`,
    `${chains.in} -s ${server}/32 -j DROP`,
  ]);
  ctx.mark({ type: 'fault', name, phase: 'start' });
  await armed.commit();
  ctx.target.kill('SIGKILL');
  ctx.mark({ type: 'target_signal', signal: 'SIGKILL' });
  await ctx.target.exited;
}

/** The same toxic on both streams, named `<prefix>_upstream` and `<prefix>_downstream`. */
export const bothWays = (
  prefix: string,
  type: string,
  attributes: Record<string, number> = {},
): ToxicSpec[] =>
  (['upstream', 'downstream'] as const).map((stream) => ({
    name: `${prefix}_${stream}`,
    type,
    stream,
    attributes,
  }));

/**
 * Toxics on the fault proxy at T0. A fault hits the connections open at T0 only (the client's
 * reconnects pass, as on netns); a slow path and a middlebox's policy hit every connection.
 */
export function addToxics(
  ctx: ProxyFaultContext,
  name: string,
  list: readonly ToxicSpec[],
  scope: 'open' | 'all' = 'open',
): Promise<void> {
  ctx.mark({ type: 'fault', name, phase: 'start' });
  ctx.proxy.addToxics(list, scope);
  ctx.mark({ type: 'fault', name, phase: 'applied' });
  return Promise.resolve();
}

/** The counter of a tagged router rule, 0 when it never matched. */
export const count = (wire: Record<string, number>, key: string): number => wire[key] ?? 0;
