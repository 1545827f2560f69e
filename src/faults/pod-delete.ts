/**
 * `kubectl delete pod`: the kubelet runs preStop, then SIGTERM; at the same moment the endpoint
 * turns terminating and kube-proxy drops it from the rules after its sync (they race); SIGKILL
 * after terminationGracePeriodSeconds.
 */
import { deletePodApply } from './kube.js';
import { apiFault, CLUSTER_WIRE, flowPodOf } from './k8s.js';
import { IMMEDIATE_MS } from './paths.js';
import { count } from './shared.js';
import type { FaultDef } from './types.js';
import { scaledDelay } from '../core/kube.js';

export const podDelete: FaultDef = {
  summary:
    'kube: the pod is deleted; preStop, then SIGTERM (FIN) while its endpoint turns terminating; SIGKILL after the grace period',
  params: [],
  testbeds: {
    kube: {
      apply: deletePodApply('pod-delete', {
        pod: 'deleted (Terminating)',
        endpoint: { change: 'terminating in the EndpointSlice', state: 'terminating' },
        stop: (kube) => ({ preStopMs: kube.delay('prestop'), graceMs: kube.delay('grace_period') }),
      }),
      reconnectFrom: 'detection',
      describe: ({ wire }) =>
        `the pod got SIGTERM (after any preStop); ${count(wire, 'wire:1')} FIN and ${count(wire, 'wire:0')} RST reached the client's node`,
    },
    k8s: {
      // The pod's own terminationGracePeriodSeconds (--grace-period), as `kubectl delete pod`.
      apply: apiFault('pod-delete', (ctx) => ctx.cluster.deletePod(flowPodOf(ctx).name), {
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
  predict: (spec) => {
    const pre = spec.kube ? scaledDelay(spec.kube, 'prestop') : 0;
    return {
      window: [pre, pre + IMMEDIATE_MS],
      why:
        pre > 0
          ? `the target serves through preStop (${pre} ms), then closes its sockets on SIGTERM (FIN)`
          : 'the target closes its sockets on SIGTERM (FIN) at once',
    };
  },
};
