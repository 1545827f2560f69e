/**
 * The server's node vanishes (powered off, unreachable; a force-deleted pod on a dead node): the
 * router drops everything to and from it, then the target dies behind the drop.
 */
import { freshHostPrediction, REUSE_ALLOWANCE_MS, silentPathPrediction } from './paths.js';
import { RESTART, textParam } from './params.js';
import { apiFault, CLUSTER_WIRE, flowPodOf } from './k8s.js';
import { BadInputError } from '../errors.js';

/**
 * No API call kills a node: on a real cluster the user's command does (stopping the VM, or on kind
 * a drop of the node's address on the host), run in the driver's pod with the node's name.
 */
export const HOOK = textParam(
  'hook',
  '<command>',
  "k8s only: the command that makes the client's pod's node vanish (run by /bin/sh in the driver's pod with HALFOPEN_NODE, HALFOPEN_POD, HALFOPEN_POD_IP set), e.g. a call that stops its VM",
);
import { count, loseNode } from './shared.js';
import { nodeLifecycle } from './kube.js';
import type { FaultDef } from './types.js';

export const nodeLoss: FaultDef = {
  summary:
    "the server's node vanishes: everything to and from it is dropped (by the router; on kube, the network between nodes), then what ran on it dies behind the drop: nothing ever arrives",
  params: [RESTART, HOOK],
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
    k8s: {
      validate(spec) {
        if (!HOOK.given(spec))
          throw new BadInputError(
            "node-loss on a real cluster needs --hook '<command>': no API call kills a node (stop its VM; on kind, drop the node's address on the host)",
          );
      },
      // T0 before the hook starts: how long it takes to act is fault_apply_ms.
      apply: apiFault(
        'node-loss',
        (ctx) => {
          const pod = flowPodOf(ctx);
          return ctx.cluster.runHook(HOOK.read(ctx.spec)!, {
            HALFOPEN_NODE: pod.node,
            HALFOPEN_POD: pod.name,
            HALFOPEN_POD_IP: pod.ip,
            HALFOPEN_NAMESPACE: ctx.cluster.namespace,
          });
        },
        { onPod: true },
      ),
      inForceAfterMs: 10_000,
      reconnectFrom: 'detection',
      takesSink: true,
      describe: () => CLUSTER_WIRE,
    },
  },
  validate(spec) {
    if (HOOK.given(spec) && spec.testbed !== 'k8s')
      throw new BadInputError('--hook applies to node-loss on --testbed k8s only');
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
