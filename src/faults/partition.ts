/** Network partition: every packet between client and server dropped, both ways, until healed. */
import { answeredByProxy, silentPathPrediction } from './paths.js';
import { HEAL } from './params.js';
import { addToxics, bothWays, count } from './shared.js';
import type { FaultDef } from './types.js';

const TOXICS = bothWays('partition', 'blackhole');

export const partition: FaultDef = {
  summary: 'router drops every packet between client and server, both ways; heal removes the drop',
  params: [HEAL],
  testbeds: {
    netns: {
      async apply(ctx) {
        const { client, server } = ctx.router.addr;
        const armed = await ctx.router.armRules('partition', [
          `FORWARD -s ${client}/32 -d ${server}/32 -j DROP`,
          `FORWARD -s ${server}/32 -d ${client}/32 -j DROP`,
        ]);
        ctx.mark({ type: 'fault', name: 'partition', phase: 'start' });
        await armed.commit();
        ctx.mark({ type: 'fault', name: 'partition', phase: 'applied' });
      },
      async heal(ctx) {
        ctx.mark({ type: 'heal', phase: 'start' });
        ctx.mark({ type: 'heal', phase: 'applied' });
        await ctx.router.removeRules('partition');
      },
      describe: ({ wire }) =>
        `router dropped ${count(wire, 'partition:0')} packets client->server and ${count(wire, 'partition:1')} server->client`,
    },
    proxy: {
      apply: (ctx) => addToxics(ctx, 'partition', TOXICS),
      heal(ctx) {
        ctx.mark({ type: 'heal', phase: 'start' });
        ctx.mark({ type: 'heal', phase: 'applied' });
        ctx.proxy.removeToxics(TOXICS.map((t) => t.name));
        return Promise.resolve();
      },
      describe: () =>
        'the fault proxy blackholed the connection both ways (both sides stayed open)',
      // The proxy's own kernel ACKs the client's data and keepalive probes through the blackhole.
      predict: (spec) =>
        answeredByProxy(spec.strategy)
          ? {
              window: null,
              why: "answered by the proxy's own kernel: it ACKs the client's data and keepalive probes through the blackhole, so only an application heartbeat notices",
            }
          : silentPathPrediction(spec),
    },
  },
  reconnectFrom: null,
  takesSink: false,
  peerAlive: false,
  predict: silentPathPrediction,
};
