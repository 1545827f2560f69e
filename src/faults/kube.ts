/**
 * Kubernetes' own sequences, as the kube testbed's faults share them: a pod's deletion by the
 * kubelet (preStop, SIGTERM, SIGKILL after the grace period) racing kube-proxy's endpoint update,
 * and a lost node's lifecycle (NotReady, its endpoints out of the rules, eviction). Delays are the
 * cluster's, scaled (core/kube.ts).
 */
import type { KubeControl, KubeFaultContext } from './types.js';

/**
 * The kubelet stops a pod: after `preStopMs` SIGTERM to every process; SIGKILL `graceMs` after the
 * start to what still runs (never sooner than the kubelet's minimum after SIGTERM). Then, once
 * every process is gone, `whenGone` (the controller's replacement).
 */
export async function stopPod(
  kube: KubeControl,
  pod: string,
  opts: { preStopMs: number; graceMs: number; whenGone?: () => Promise<void> },
): Promise<void> {
  const killAt = Math.max(opts.graceMs - opts.preStopMs, kube.delay('kill_min'));
  const reap = async (): Promise<void> => {
    if (!(await kube.podStopped(pod, killAt))) {
      await kube.signalPod(pod, 'SIGKILL');
      await kube.podStopped(pod, 5000);
    }
    await opts.whenGone?.();
  };
  if (opts.preStopMs > 0) {
    kube.event('pod', pod, `preStop (sleep ${opts.preStopMs} ms)`);
    void kube.later(opts.preStopMs, `SIGTERM to ${pod}`, async () => {
      await kube.signalPod(pod, 'SIGTERM');
      await reap();
    });
  } else {
    await kube.signalPod(pod, 'SIGTERM');
    void kube.later(0, `the end of ${pod}`, reap);
  }
}

/**
 * The StatefulSet controller's replacement for a deleted pod: the same name on the same node,
 * with a new address, once the old pod is gone; kube-proxy steers to it once it runs.
 */
export function recreatePod(kube: KubeControl, pod: string): () => Promise<void> {
  return async () => {
    const node = kube.pods().find((p) => p.name === pod)?.node;
    await kube.deletePod(pod);
    kube.event('endpoint', pod, 'removed from the EndpointSlice (the pod is gone)');
    endpointLater(kube, pod, 'gone');
    await kube.replacePod(pod, { sameIp: false, ...(node !== undefined ? { node } : {}) });
    endpointLater(kube, pod, 'ready');
  };
}

/** kube-proxy learns an endpoint's new state `endpoint_lag` after the API changed it. */
export function endpointLater(
  kube: KubeControl,
  pod: string,
  state: Parameters<KubeControl['setEndpoint']>[1],
  afterMs = 0,
): void {
  // This pod, not a replacement that may take its name before the step runs.
  const uid = kube.pods().find((p) => p.name === pod)?.uid;
  void kube.later(afterMs + kube.delay('endpoint_lag'), `endpoint ${pod} ${state}`, () =>
    kube.setEndpoint(pod, state, uid),
  );
}

/**
 * A lost node, seen from the control plane: NotReady after node-monitor-grace-period, its pods'
 * endpoints then out of the rules (not ready), eviction `eviction` later. Its pods stay Terminating
 * (a StatefulSet's until the node is deleted), so nothing replaces them here.
 */
export function nodeLifecycle(
  kube: KubeControl,
  node: number,
  onEvicted?: () => Promise<void>,
): void {
  const notReady = kube.delay('node_grace');
  const pods = kube.pods().filter((p) => p.node === node);
  void kube.later(notReady, `node${node} NotReady`, () => {
    kube.event('node', `node${node}`, 'NotReady (node-monitor-grace-period passed)');
    return Promise.resolve();
  });
  for (const p of pods) endpointLater(kube, p.name, 'not-ready', notReady);
  void kube.later(notReady + kube.delay('eviction'), `eviction on node${node}`, async () => {
    for (const p of pods)
      kube.event('pod', p.name, 'evicted (Terminating: its node is unreachable)');
    await onEvicted?.();
  });
}

/**
 * A pod deleted through the API (`kubectl delete pod`, with or without `--force`): T0, the API's
 * events, kube-proxy's update an endpoint lag later, the kubelet's stop, and the StatefulSet's
 * replacement once the pod is gone.
 */
export function deletePodApply(
  fault: string,
  how: {
    /** What the API says of the pod, and of its endpoint (which turns `endpoint`). */
    pod: string;
    endpoint: { change: string; state: 'terminating' | 'gone' };
    /** preStop and grace, as the kubelet runs them. */
    stop(kube: KubeControl): { preStopMs: number; graceMs: number };
  },
): (ctx: KubeFaultContext) => Promise<void> {
  return async (ctx) => {
    const { kube, flowPod } = ctx;
    const pod = flowPod.name;
    ctx.mark({ type: 'fault', name: fault, phase: 'start' });
    kube.event('pod', pod, how.pod);
    kube.event('endpoint', pod, how.endpoint.change);
    endpointLater(kube, pod, how.endpoint.state);
    await stopPod(kube, pod, { ...how.stop(kube), whenGone: recreatePod(kube, pod) });
    ctx.mark({ type: 'fault', name: fault, phase: 'applied' });
  };
}
