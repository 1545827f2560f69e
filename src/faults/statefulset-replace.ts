/**
 * A StatefulSet pod lost with its node, and brought back under its name: the node goes silent
 * (node-loss), turns NotReady, its pod is evicted but stays Terminating (a StatefulSet never runs
 * two pods of one name) until the operator deletes the node object, which force-deletes it. The
 * StatefulSet controller then creates the pod again on a spare node: same name, same headless DNS
 * name, normally a new IP. Clients that resolve the name again find it; a client pinned to the old
 * address (its connection, a ClusterIP's conntrack entry) waits on its own timers. `--same-ip`: the
 * replacement gets the old address (a CNI that hands it out again), and the old connection's next
 * packet meets a fresh kernel with no socket for it: RST.
 */
import { endpointLater, nodeLifecycle } from './kube.js';
import { switchParam } from './params.js';
import { freshHostPrediction, REUSE_ALLOWANCE_MS, silentPathPrediction } from './paths.js';
import { count } from './shared.js';
import type { FaultDef } from './types.js';
import { scaledDelay } from '../core/kube.js';

export const SAME_IP = switchParam(
  'same_ip',
  "the replacement pod gets the lost pod's address again: the old connection's next packet draws an RST",
);

export const statefulsetReplace: FaultDef = {
  summary:
    "kube: the pod's node is lost; after eviction the node is deleted and the pod comes back under its name on a spare node, with a new IP (--same-ip: the old one, which answers the old connection with RST)",
  params: [SAME_IP],
  testbeds: {
    kube: {
      async apply(ctx) {
        const { kube, flowPod } = ctx;
        const node = flowPod.node;
        const sameIp = SAME_IP.read(ctx.spec);
        const lost = kube.pods().filter((p) => p.node === node);
        const armed = await kube.armNodeLoss(node);
        ctx.mark({ type: 'fault', name: 'statefulset-replace', phase: 'start' });
        await armed.commit();
        await kube.killNode(node);
        nodeLifecycle(kube, node, async () => {
          kube.event(
            'node',
            `node${node}`,
            'deleted (the operator removes the lost node): its pods are force-deleted',
          );
          for (const p of lost) {
            await kube.deletePod(p.name);
            const fresh = await kube.replacePod(p.name, { sameIp });
            // Its kernel answers from the `scheduled on` event on; this mark follows the target's start.
            if (fresh.ip === flowPod.ip) ctx.mark({ type: 'fresh_host_up' });
            endpointLater(kube, p.name, 'ready');
          }
        });
        ctx.mark({ type: 'fault', name: 'statefulset-replace', phase: 'applied' });
      },
      // Other replicas stay behind the Service: the client may come back at once.
      reconnectFrom: 'detection',
      describe: ({ wire }) => {
        const [to, from] = Object.entries(wire)
          .filter(([k]) => k.startsWith('node-loss-'))
          .reduce(([a, b], [k, v]) => (k.endsWith(':0') ? [a + v, b] : [a, b + v]), [0, 0]);
        return `the fabric dropped ${to} packets to the lost node and ${from} from it; the replacement pod came up after the eviction; ${count(wire, 'wire:0')} RST reached the client`;
      },
    },
  },
  reconnectFrom: 'detection',
  takesSink: true,
  peerAlive: false,
  predict(spec) {
    if (!SAME_IP.read(spec) || !spec.kube) return silentPathPrediction(spec);
    // The replacement's kernel takes the old address once the node is deleted, after the eviction.
    const up =
      scaledDelay(spec.kube, 'node_grace') +
      scaledDelay(spec.kube, 'eviction') +
      REUSE_ALLOWANCE_MS;
    return freshHostPrediction(spec, up);
  },
};
