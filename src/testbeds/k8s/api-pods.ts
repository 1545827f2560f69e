/**
 * K8sApi's pod lifecycle: waiting for a pod to run (and saying at once why it will not), and
 * deleting everything a run created.
 */
import type {
  CoreV1Api,
  KubernetesObject,
  KubernetesObjectApi,
  V1Pod,
} from '@kubernetes/client-node';
import { BadInputError, LabError } from '../../errors.js';
import { codeOf, sleep, toLabError, type Target } from './api-support.js';

/** What waitPodRunning and deleteRun use of K8sApi. */
export interface PodClients extends Target {
  readonly core: CoreV1Api;
  readonly objects: KubernetesObjectApi;
}

/** How often waitPodRunning reads the pod. */
const POD_POLL_MS = 500;

/** Why a container that waits will not start by itself: the image is the user's to fix. */
const IMAGE_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);
/** Waiting reasons that mean the container failed (not: is still starting). */
const FAILED_REASONS = new Set([
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** What deleteRun deletes, in order: the drivers first, so nothing recreates what goes next. */
const RUN_KINDS: readonly { apiVersion: string; kind: string; namespaced: boolean }[] = [
  { apiVersion: 'batch/v1', kind: 'Job', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', namespaced: true },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', namespaced: true },
  { apiVersion: 'v1', kind: 'Pod', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', namespaced: false },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', namespaced: false },
];

/** K8sApi.deleteRun's work (see there). */
export async function deleteRun(
  api: PodClients,
  selector: string,
  clusterScoped: 'yes' | 'no' | 'if-allowed',
): Promise<string[]> {
  const deleted: string[] = [];
  const failed: string[] = [];
  for (const { apiVersion, kind, namespaced } of RUN_KINDS) {
    if (!namespaced && clusterScoped === 'no') continue;
    const namespace = namespaced ? api.namespace : undefined;
    let items: KubernetesObject[];
    try {
      const list = await api.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        selector,
      );
      items = list.items;
    } catch (err) {
      // Cluster-wide lists need cluster rights a user without node access need not have.
      if (!(namespaced === false && clusterScoped === 'if-allowed' && codeOf(err) === 403))
        failed.push(toLabError(api, err, 'list', kind).message);
      continue;
    }
    for (const item of items) {
      const name = item.metadata?.name;
      if (!name) continue;
      try {
        await api.objects.delete(
          { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } },
          undefined,
          undefined,
          undefined,
          undefined,
          // Background: a Job's pods (and a StatefulSet's) go with it, without waiting for them.
          'Background',
        );
        deleted.push(`${kind}/${name}`);
      } catch (err) {
        if (codeOf(err) !== 404)
          failed.push(toLabError(api, err, 'delete', `${kind}/${name}`).message);
      }
    }
  }
  if (failed.length > 0)
    throw new LabError(`deleted ${deleted.length} objects, but: ${failed.join('; ')}`);
  return deleted;
}

/** K8sApi.waitPodRunning's work (see there). */
export async function waitPodRunning(
  api: PodClients,
  name: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<V1Pod> {
  const until = performance.now() + timeoutMs;
  let last = 'not created yet';
  for (;;) {
    if (signal.aborted) throw new LabError(`stopped waiting for pod ${name}: aborted`);
    let pod: V1Pod | undefined;
    try {
      pod = await api.core.readNamespacedPod({ name, namespace: api.namespace });
    } catch (err) {
      if (codeOf(err) !== 404) throw toLabError(api, err, 'get', `pods/${name}`);
    }
    if (pod) {
      const state = podState(pod);
      if (state === true) return pod;
      if (state instanceof Error) throw state;
      last = state;
    }
    if (performance.now() >= until)
      throw new LabError(
        `pod ${name} not running after ${Math.round(timeoutMs / 1000)} s: ${last}`,
      );
    await sleep(Math.min(POD_POLL_MS, Math.max(0, until - performance.now())), signal);
  }
}

/** True once running and ready, else what the pod waits for, or the error it will not get past. */
function podState(pod: V1Pod): true | string | Error {
  const name = pod.metadata?.name ?? '?';
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && IMAGE_REASONS.has(waiting.reason))
      return new BadInputError(
        `image '${cs.image}' can't be pulled: ${waiting.message ?? waiting.reason} (build and push it: see the Dockerfile, then --image)`,
      );
    if (waiting?.reason && FAILED_REASONS.has(waiting.reason)) {
      const t = cs.lastState?.terminated;
      const detail = t
        ? `exit ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${t.message.trim()}` : ''}`
        : (waiting.message ?? '');
      return new LabError(
        `container ${cs.name} of pod ${name} failed: ${waiting.reason}${detail ? `, ${detail}` : ''}`,
      );
    }
  }
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Failed' || phase === 'Succeeded') {
    const t = (pod.status?.containerStatuses ?? [])
      .map((cs) => ({ cs, t: cs.state?.terminated }))
      .find((x) => x.t);
    const detail = t?.t
      ? `: container ${t.cs.name} exit ${t.t.exitCode}${t.t.reason ? ` (${t.t.reason})` : ''}${t.t.message ? `: ${t.t.message.trim()}` : ''}`
      : pod.status?.message
        ? `: ${pod.status.message}`
        : '';
    return new LabError(`pod ${name} ended (${phase})${detail}`);
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  // Not final: an autoscaling cluster makes room by adding a node (the wait's timeout decides).
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable')
    return `not scheduled yet: ${scheduled.message ?? 'Unschedulable'}`;
  const containers = pod.status?.containerStatuses ?? [];
  if (phase === 'Running' && containers.length > 0 && containers.every((cs) => cs.ready))
    return true;
  const notReady = containers.filter((cs) => !cs.ready).map((cs) => cs.name);
  return `phase ${phase}${notReady.length > 0 ? `, not ready: ${notReady.join(', ')}` : ''}`;
}
