/**
 * What the control plane did, in the lab's words: the pod and EndpointSlice watches' objects
 * compared with what was seen before, one sentence per change. Pure functions: the testbed marks
 * the sentences on the timeline as they arrive.
 */

/** A target pod as its watch shows it. */
export interface PodState {
  name: string;
  uid: string;
  ip: string;
  node: string;
  ready: boolean;
  terminating: boolean;
}

/** The parts of a V1Pod the lab reads. */
export interface PodObject {
  metadata?: {
    name?: string;
    uid?: string;
    deletionTimestamp?: unknown;
    deletionGracePeriodSeconds?: number;
  };
  spec?: { nodeName?: string };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

export function podState(pod: PodObject): PodState {
  return {
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    ip: pod.status?.podIP ?? '',
    node: pod.spec?.nodeName ?? '',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    terminating: pod.metadata?.deletionTimestamp != null,
  };
}

/** What changed between two sightings of a pod (`before` undefined: first seen). */
export function podChanges(
  before: PodState | undefined,
  after: PodState,
  deleted: boolean,
  graceSeconds?: number,
): string[] {
  if (deleted) return ['deleted (gone from the API)'];
  const out: string[] = [];
  if (!before || before.uid !== after.uid) out.push(`created (uid ${after.uid.slice(0, 8)})`);
  if (after.node && after.ip && (!before || before.uid !== after.uid || !before.ip))
    out.push(`running on ${after.node} (${after.ip})`);
  if (after.terminating && !before?.terminating)
    out.push(`Terminating${graceSeconds !== undefined ? ` (grace period ${graceSeconds} s)` : ''}`);
  if (before && before.uid === after.uid && before.ready !== after.ready)
    out.push(after.ready ? 'Ready' : 'not Ready');
  else if ((!before || before.uid !== after.uid) && after.ready) out.push('Ready');
  return out;
}

/** An endpoint's state in its EndpointSlice, as kube-proxy reads it. */
export type EndpointState = 'ready' | 'terminating' | 'not ready';

/** The parts of an EndpointSlice the lab reads. */
export interface SliceObject {
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { name?: string };
  }[];
}

/** Each endpoint of a Service's slices by pod name (its address where no pod is named). */
export function endpointStates(slices: readonly SliceObject[]): Map<string, EndpointState> {
  const out = new Map<string, EndpointState>();
  for (const slice of slices)
    for (const e of slice.endpoints ?? []) {
      const name = e.targetRef?.name ?? e.addresses?.[0];
      if (!name) continue;
      const c = e.conditions ?? {};
      // A nil `ready` means ready (discovery.k8s.io/v1); terminating endpoints are never ready.
      out.set(name, c.terminating ? 'terminating' : c.ready === false ? 'not ready' : 'ready');
    }
  return out;
}

/** What changed in the Service's endpoints, by pod. */
export function endpointChanges(
  before: ReadonlyMap<string, EndpointState>,
  after: ReadonlyMap<string, EndpointState>,
): { name: string; change: string }[] {
  const out: { name: string; change: string }[] = [];
  for (const [name, state] of after)
    if (before.get(name) !== state) out.push({ name, change: `${state} in the EndpointSlice` });
  for (const name of before.keys())
    if (!after.has(name)) out.push({ name, change: 'removed from the EndpointSlice' });
  return out;
}

/**
 * The client endpoints (`ip:port`) a target's log line names: a broker's connection log
 * (mosquitto's "New client connected from", nats-server's debug "Client connection created") or
 * the lab's own server's `accepted` event.
 */
export function endpointsIn(line: string): string[] {
  if (line.startsWith('{')) {
    try {
      const e = JSON.parse(line) as { type?: string; remote?: { address?: string; port?: number } };
      return e.type === 'accepted' && e.remote?.address
        ? [`${e.remote.address}:${e.remote.port}`]
        : [];
    } catch {
      return [];
    }
  }
  return [...line.matchAll(/\b(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\b/g)].map(
    (m) => `${m[1]}:${m[2]}`,
  );
}
