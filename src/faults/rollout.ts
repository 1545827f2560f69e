/**
 * `kubectl rollout restart statefulset`: the StatefulSet controller replaces its pods one at a
 * time (maxUnavailable 1), from the highest ordinal to the lowest. For each: the pod is deleted as
 * `kubectl delete pod` does (endpoint terminating, preStop, SIGTERM, SIGKILL after the grace
 * period); once its containers are gone and the pod object with them, a new pod of the same name
 * is created on the same node with a new address (the node's IPAM hands out the next one); once it
 * is Running and Ready, its endpoint turns ready (kube-proxy after its sync) and the controller
 * goes on to the next. T0 is the first deletion. The whole rollout runs inside `apply`, so the
 * experiment watches the client through all of it: every replica the client lands on is restarted
 * in its turn, and the timeline shows each disconnection and reconnection.
 */
import { apiFault, CLUSTER_WIRE } from './k8s.js';
import { endpointLater } from './kube.js';
import { IMMEDIATE_MS } from './paths.js';
import { count } from './shared.js';
import type { FaultDef, KubeControl, PodView } from './types.js';
import { scaledDelay } from '../core/kube.js';
import { sec } from '../core/window.js';
import { InterruptedError, LabError } from '../errors.js';

/**
 * A replacement pod is up and Ready within this after its predecessor is gone: its namespace,
 * veth and address, the target listening and a broker's sink subscribed. The lab's own work, not
 * a Kubernetes delay (not scaled). Measured at 0.1-0.6 s (tcp) and 0.3-1.2 s (nats, 3 replicas);
 * the bound leaves room for a loaded two-core machine.
 */
export const POD_START_ALLOWANCE_MS = 3000;

/**
 * Runs `later`'s step and resolves once it has run (a failure fails the experiment); the run's end
 * (or its interruption) ends the rollout there.
 */
async function afterMs(
  kube: KubeControl,
  ms: number,
  what: string,
  step = async (): Promise<void> => {},
): Promise<void> {
  if (!(await kube.later(ms, what, step))) throw new InterruptedError();
}

/** The kubelet stops the pod: preStop, SIGTERM, SIGKILL after the grace period; until all exit. */
async function kubeletStop(kube: KubeControl, pod: string): Promise<void> {
  const preStop = kube.delay('prestop');
  if (preStop > 0) {
    kube.event('pod', pod, `preStop (sleep ${preStop} ms)`);
    await afterMs(kube, preStop, `preStop of ${pod}`);
  }
  await kube.signalPod(pod, 'SIGTERM');
  const killAt = Math.max(kube.delay('grace_period') - preStop, kube.delay('kill_min'));
  if (await kube.podStopped(pod, killAt)) return;
  await kube.signalPod(pod, 'SIGKILL');
  if (!(await kube.podStopped(pod, 5000)))
    throw new LabError(`${pod}: processes still run 5 s after SIGKILL`);
}

/** One replica's turn: the old pod deleted and gone, its successor made and Ready. */
async function replace(
  kube: KubeControl,
  pod: PodView,
  turn: string,
  onDeleted: () => void,
): Promise<void> {
  const { name, node } = pod;
  kube.event('pod', name, `deleted by the rollout (${turn}; Terminating)`);
  kube.event('endpoint', name, 'terminating in the EndpointSlice');
  // Endpoint changes go by the pod's name: this one must be in kube-proxy's rules before a pod of
  // the same name exists (a pod that exits within endpoint_lag waits that long to be removed).
  const terminating = afterMs(
    kube,
    kube.delay('endpoint_lag'),
    `endpoint ${name} terminating`,
    () => kube.setEndpoint(name, 'terminating'),
  );
  onDeleted();
  await kubeletStop(kube, name);
  await terminating;
  await kube.deletePod(name);
  kube.event('endpoint', name, 'removed from the EndpointSlice');
  endpointLater(kube, name, 'gone');
  const fresh = await kube.replacePod(name, { sameIp: false, node });
  kube.event('pod', name, `Ready on node${fresh.node} with ${fresh.ip} (${turn} done)`);
  kube.event('endpoint', name, 'ready in the EndpointSlice');
  endpointLater(kube, name, 'ready');
}

/** A StatefulSet pod's ordinal: `nats-2` -> 2. */
const ordinal = (p: PodView): number => Number(/-(\d+)$/.exec(p.name)?.[1] ?? 0);

export const rollout: FaultDef = {
  summary:
    'kube: a rolling restart (StatefulSet, highest ordinal first): each pod in turn deleted (SIGTERM, FIN), then recreated with a new IP and Ready before the next',
  params: [],
  testbeds: {
    kube: {
      async apply(ctx) {
        const { kube } = ctx;
        const order = [...kube.pods()].sort((a, b) => ordinal(b) - ordinal(a));
        ctx.mark({ type: 'fault', name: 'rollout', phase: 'start' });
        for (const [i, pod] of order.entries())
          await replace(kube, pod, `rollout ${i + 1}/${order.length}`, () => {
            if (i === 0) ctx.mark({ type: 'fault', name: 'rollout', phase: 'applied' });
          });
      },
      // The other replicas serve on: the client may come back through the Service at once.
      reconnectFrom: 'detection',
      describe: ({ wire }) => {
        const pods = Object.keys(wire).filter((k) => /^dnat-.*\.\d+:0$/.test(k)).length;
        return `${pods} pods were replaced one by one (SIGTERM, then a new pod with a new IP); ${count(wire, 'wire:1')} FIN and ${count(wire, 'wire:0')} RST reached the client's node`;
      },
    },
    k8s: {
      // `kubectl rollout restart`: the StatefulSet controller replaces the pods in its own order.
      apply: apiFault('rollout', (ctx) => ctx.cluster.rolloutRestart()),
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
    const k = spec.kube;
    const replicas = k?.replicas ?? 1;
    const pre = k ? scaledDelay(k, 'prestop') : 0;
    const lag = k ? scaledDelay(k, 'endpoint_lag') : 0;
    // One turn: preStop, the target's exit on SIGTERM (and the endpoint's terminating update),
    // the successor up and Ready.
    const turn = pre + Math.max(IMMEDIATE_MS, lag) + POD_START_ALLOWANCE_MS;
    const last = (replicas - 1) * turn;
    return {
      window: [pre, last + pre + IMMEDIATE_MS],
      why:
        replicas === 1
          ? `one replica: the client's pod is the first deleted; ${pre > 0 ? `it serves through preStop (${pre} ms), then` : 'the target'} closes its sockets on SIGTERM (FIN)`
          : `the client's pod is deleted in its turn, 0 to ${replicas - 1} turns after T0, each turn within ${sec(turn)} (preStop ${pre} ms, the target's exit on SIGTERM, its successor up and Ready within ${sec(POD_START_ALLOWANCE_MS)}); then SIGTERM closes its sockets (FIN)`,
    };
  },
};
