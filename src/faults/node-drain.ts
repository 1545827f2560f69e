/**
 * `kubectl drain` of the client's pod's node, on a real cluster: the node is cordoned (nothing new
 * is scheduled there), then the pod is evicted through the Eviction API, which a PodDisruptionBudget
 * may refuse. An evicted pod is deleted with its own grace period: preStop, then SIGTERM (FIN).
 * The node is uncordoned at teardown. Needs the opt-in node permissions (--node-access).
 */
import { apiFault, CLUSTER_WIRE, flowPodOf } from './k8s.js';
import { podDelete } from './pod-delete.js';
import type { FaultDef } from './types.js';

export const nodeDrain: FaultDef = {
  summary:
    "k8s: the client's pod's node is drained (cordon, then the pod's eviction): preStop, then SIGTERM (FIN), as pod-delete; the node is uncordoned after",
  params: [],
  testbeds: {
    k8s: {
      apply: apiFault(
        'node-drain',
        async (ctx) => {
          const pod = flowPodOf(ctx);
          await ctx.cluster.cordon(pod.node);
          await ctx.cluster.evictPod(pod.name);
        },
        { onPod: true },
      ),
      access: ['nodes'],
      inForceAfterMs: null,
      reconnectFrom: 'detection',
      takesSink: true,
      describe: () => CLUSTER_WIRE,
    },
  },
  reconnectFrom: null,
  takesSink: true,
  peerAlive: false,
  predict: (spec) => {
    const p = podDelete.predict(spec);
    return { ...p, why: `evicted as a deletion: ${p.why}` };
  },
};
