/**
 * The server's node vanishes (powered off, unreachable; a force-deleted pod on a dead node): the
 * router drops everything to and from it, then the target dies behind the drop.
 */
import { freshHostPrediction, REUSE_ALLOWANCE_MS, silentPathPrediction } from './paths.js';
import { RESTART } from './params.js';
import { count, loseNode } from './shared.js';
import { nodeLifecycle } from './kube.js';
import type { FaultDef } from './types.js';

export const nodeLoss: FaultDef = {
  summary:
    "the server's node vanishes: everything to and from it is dropped (by the router; on kube, the network between nodes), then what ran on it dies behind the drop: nothing ever arrives",
  params: [RESTART],
  testbeds: {
    netns: {
      async apply(ctx) {
        await loseNode(ctx, 'node-loss');
        ctx.mark({ type: 'fault', name: 'node-loss', phase: 'applied' });
      },
      // The replacement comes back where the old one was (a Service's address, a StatefulSet pod).
      async beforeRestart(ctx) {
        await ctx.router.removeRules('node-loss');
      },
      describe: ({ wire }) =>
        `router dropped ${count(wire, 'node-loss:0')} packets to the server and ${count(wire, 'node-loss:1')} from it; the target was killed behind the drop`,
    },
    kube: {
      async apply(ctx) {
        const { kube, flowPod } = ctx;
        const node = flowPod.node;
        const armed = await kube.armNodeLoss(node);
        ctx.mark({ type: 'fault', name: 'node-loss', phase: 'start' });
        await armed.commit();
        // Silent from here: what runs on the node dies behind the drop.
        ctx.mark({ type: 'fault', name: 'node-loss', phase: 'applied' });
        await kube.killNode(node);
        nodeLifecycle(kube, node);
      },
      // Other replicas stay: the client may come back through the Service at once.
      reconnectFrom: 'detection',
      // The sinks beside the lost node's brokers die with it.
      takesSink: true,
      describe: ({ wire }) => {
        const [to, from] = Object.entries(wire)
          .filter(([k]) => k.startsWith('node-loss-'))
          .reduce(([a, b], [k, v]) => (k.endsWith(':0') ? [a + v, b] : [a, b + v]), [0, 0]);
        return `the fabric dropped ${to} packets to the lost node and ${from} from it; everything on it died behind the drop`;
      },
    },
  },
  reconnectFrom: null,
  takesSink: false,
  peerAlive: false,
  // A replacement at the same address answers the old connection with RST.
  predict: (spec) =>
    spec.restartMs === null
      ? silentPathPrediction(spec)
      : freshHostPrediction(spec, spec.restartMs + REUSE_ALLOWANCE_MS),
};
