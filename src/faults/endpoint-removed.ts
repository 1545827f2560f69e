/**
 * The pod stays healthy but leaves the Service: its readiness probe fails (an overloaded pod, a
 * dependency down), so the endpoint turns not ready in the EndpointSlice and kube-proxy stops
 * steering new connections to it after its sync. Relabelling a pod out of the selector does the
 * same on the wire. kube-proxy's rules steer only a flow's first packet and it never clears TCP
 * conntrack entries, so the client's established connection goes on to the same pod, which still
 * answers: nothing is broken, and any detection is a false disconnect. With one replica the
 * Service has no endpoint left, and new connections are REJECTed (icmp-port-unreachable).
 */
import { endpointLater } from './kube.js';
import { count } from './shared.js';
import type { FaultDef } from './types.js';
import { BadInputError } from '../errors.js';

export const endpointRemoved: FaultDef = {
  summary:
    "kube: the pod's readiness fails and its endpoint leaves the Service's rules; established flows stay on it (conntrack), new ones go elsewhere",
  params: [],
  testbeds: {
    kube: {
      apply(ctx) {
        const { kube, flowPod } = ctx;
        const pod = flowPod.name;
        ctx.mark({ type: 'fault', name: 'endpoint-removed', phase: 'start' });
        kube.event('pod', pod, 'Ready=False (readiness probe failing; the pod runs on)');
        kube.event('endpoint', pod, 'not ready in the EndpointSlice');
        endpointLater(kube, pod, 'not-ready');
        ctx.mark({ type: 'fault', name: 'endpoint-removed', phase: 'applied' });
        return Promise.resolve();
      },
      // Headless, the client dials the pod itself: no rule of kube-proxy's is on its path, and the
      // lab's names do not follow readiness (a DNS record would).
      validate: (spec) => {
        if (spec.kube?.service === 'headless')
          throw new BadInputError(
            "endpoint-removed changes kube-proxy's rules for the ClusterIP; under --service headless the client dials the pod itself: use --service cluster-ip",
          );
      },
      describe: ({ wire }) =>
        `the endpoint left kube-proxy's rules; ${count(wire, 'svc-no-endpoints:0')} new connections were rejected for want of an endpoint, ${count(wire, 'wire:1')} FIN and ${count(wire, 'wire:0')} RST reached the client's node`,
    },
  },
  reconnectFrom: null,
  takesSink: false,
  peerAlive: true,
  predict: () => ({
    window: null,
    why: 'the pod and the path stay alive (conntrack keeps the established flow on it): any detection is a false disconnect',
  }),
};
