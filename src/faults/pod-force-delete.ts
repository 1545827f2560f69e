/**
 * `kubectl delete pod --force --grace-period=0` on a healthy node: the API object and its endpoint
 * go at once (kube-proxy's rules after its sync), but the kubelet still stops the container:
 * SIGTERM now, SIGKILL after its 2 s minimum. The seed note claims no FIN is sent: the wire says.
 */
import { deletePodApply } from './kube.js';
import { apiFault, CLUSTER_WIRE, flowPodOf } from './k8s.js';
import { immediate } from './paths.js';
import { count } from './shared.js';
import type { FaultDef } from './types.js';

export const podForceDelete: FaultDef = {
  summary:
    'kube: the pod is force-deleted; its endpoint leaves, and its node still sends SIGTERM, then SIGKILL 2 s later',
  params: [],
  testbeds: {
    kube: {
      // The kubelet never uses a grace below its minimum (pod_workers.go, killContainer).
      apply: deletePodApply('pod-force-delete', {
        pod: 'deleted (--force --grace-period=0): gone from the API',
        endpoint: { change: 'removed from the EndpointSlice', state: 'gone' },
        stop: () => ({ preStopMs: 0, graceMs: 0 }),
      }),
      reconnectFrom: 'detection',
      describe: ({ wire }) =>
        `the pod got SIGTERM at once (its node is alive); ${count(wire, 'wire:1')} FIN and ${count(wire, 'wire:0')} RST reached the client's node`,
    },
    k8s: {
      // A DELETE with gracePeriodSeconds=0, as `kubectl delete pod --force --grace-period=0`.
      apply: apiFault('pod-force-delete', (ctx) => ctx.cluster.deletePod(flowPodOf(ctx).name, 0), {
        onPod: true,
      }),
      inForceAfterMs: null,
      reconnectFrom: 'detection',
      takesSink: true,
      describe: () => CLUSTER_WIRE,
    },
  },
  reconnectFrom: null,
  takesSink: true,
  peerAlive: false,
  predict: () =>
    immediate('the kubelet still sends SIGTERM at once: the target closes its sockets (FIN)'),
};
