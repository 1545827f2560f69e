/**
 * Faults on a real cluster (the k8s testbed) share one shape: T0 right before the API call that
 * makes the fault, `applied` once the API has accepted it. What the cluster then does (the pod
 * terminating, its endpoint leaving the slice) is the cluster's own, recorded by its watches.
 */
import { LabError } from '../errors.js';
import type { ClusterPod, K8sFaultContext } from './types.js';

/** The pod the client's connection is on: a pod fault must hit that one, not any. */
export function flowPodOf(ctx: K8sFaultContext): ClusterPod {
  if (ctx.flowPod) return ctx.flowPod;
  throw new LabError(
    `cannot tell which pod the client's connection ${ctx.flow.client.address}:${ctx.flow.client.port} reached: no target pod logged it (source NAT between the driver and the pods?); use --replicas 1`,
  );
}

/**
 * T0, the API call, `applied`. A fault on the client's pod (`onPod`) refuses before T0 when the
 * pod is not known, so no start is marked for a fault that never happened.
 */
export function apiFault(
  name: string,
  act: (ctx: K8sFaultContext) => Promise<void>,
  opts: { onPod?: boolean } = {},
): (ctx: K8sFaultContext) => Promise<void> {
  return async (ctx) => {
    if (opts.onPod) flowPodOf(ctx);
    ctx.mark({ type: 'fault', name, phase: 'start' });
    await act(ctx);
    ctx.mark({ type: 'fault', name, phase: 'applied' });
  };
}

/** What crossed the wire on a real cluster: the lab reads no counters there. */
export const CLUSTER_WIRE =
  'a real cluster: the wire is not counted; the client and the sink say what arrived';
