/**
 * `halfopen k8s watch <pod> --to <service or address>`: measures a running application in place,
 * in any language, without changing it. An ephemeral container joins the user's pod (it shares
 * the pod's network namespace) and runs the kernel watcher there (watch-here.ts); its events come
 * back through the container's log. Once the application's connection to the target is seen
 * ESTABLISHED, and `--after` later, the lab may put a fault on the server side through the API;
 * the report says when the application's connection left ESTABLISHED and when it connected again,
 * in ms from the fault.
 *
 * One clock: the events are stamped as their log lines reach the CLI, and T0 right before the
 * fault's API call, both on this machine; the log's delivery delay is the error (up to about a
 * second on a busy API server; the poll interval adds 50 ms).
 */
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { BadInputError, LabError } from '../../errors.js';
import { msBetween, now, sleep } from '../../util/clock.js';
import { parseDuration } from '../../util/duration.js';
import { Teardowns } from '../../util/teardown.js';
import { K8sApi, type Access } from './api.js';
import {
  denySelected,
  validateEphemeralContainer,
  validateObject,
  watchContainer,
} from './manifests.js';
import type { ClusterChoice, K8sRunOptions } from './plan.js';
import { parseRemote } from './watch-here.js';
import { WATCH_FAULT_NAMES, WATCH_FAULTS, type WatchFault } from './watch-faults.js';

export interface WatchOptions extends ClusterChoice {
  pod: string;
  to: string;
  port?: string;
  container?: string;
  fault?: string;
  serverPod?: string;
  serverSelector?: string;
  after: string;
  for: string;
  image: string;
  imagePullPolicy?: K8sRunOptions['imagePullPolicy'];
  signal: AbortSignal;
  /** Each event as it arrives, for a live display. */
  onEvent?: (e: WatchEvent) => void;
}

export interface WatchEvent {
  /** ms from the fault (negative before it); from the watch's start without a fault. */
  at_ms: number;
  what: string;
}

export interface WatchReport {
  pod: string;
  namespace: string;
  /** The addresses watched: the Service's ClusterIP and its pods', or the one given. */
  remotes: string[];
  fault: WatchFault | null;
  /** From the fault (or the first connection without one) to the connection leaving ESTABLISHED. */
  detect_ms: number | null;
  /** How it left: `ESTABLISHED->CLOSE_WAIT`, `new connection`, ... */
  detect_how: string | null;
  /** From the fault to the application's next connection ESTABLISHED. */
  reconnect_ms: number | null;
  events: WatchEvent[];
}

interface Plan {
  fault: WatchFault | null;
  afterMs: number;
  forMs: number;
  selector: Record<string, string> | null;
}

/** Checks the options before anything is asked of the cluster. */
export function planWatch(o: WatchOptions): Plan {
  const forMs = parseDuration(o.for, '--for');
  const afterMs = parseDuration(o.after, '--after');
  if (forMs < 1000 || forMs > 3_600_000) throw new BadInputError('--for must be from 1s to 1h');
  if (afterMs >= forMs) throw new BadInputError('--after must be shorter than --for');
  if (o.port !== undefined && !/^\d{1,5}$/.test(o.port))
    throw new BadInputError(`--port '${o.port}' is not a port number`);
  let fault: WatchFault | null = null;
  let selector: Record<string, string> | null = null;
  if (o.fault !== undefined) {
    if (!(WATCH_FAULT_NAMES as string[]).includes(o.fault))
      throw new BadInputError(
        `--fault '${o.fault}' is not one a watch can make (expected ${WATCH_FAULT_NAMES.join(', ')})`,
      );
    fault = o.fault as WatchFault;
    const needs = WATCH_FAULTS[fault].needs;
    if (needs === 'pod' && !o.serverPod)
      throw new BadInputError(`--fault ${fault} needs --server-pod <name> (the pod to hit)`);
    if (needs === 'selector') {
      if (!o.serverSelector)
        throw new BadInputError(`--fault ${fault} needs --server-selector <key=value,...>`);
      selector = {};
      for (const term of o.serverSelector.split(',')) {
        const m = /^([\w./-]+)=([\w.-]*)$/.exec(term.trim());
        if (!m) throw new BadInputError(`--server-selector '${term}' is not key=value`);
        selector[m[1]!] = m[2]!;
      }
    }
  } else if (o.serverPod || o.serverSelector)
    throw new BadInputError('--server-pod and --server-selector go with --fault');
  return { fault, afterMs, forMs, selector };
}

/** What the user needs for this watch (the preflight checks each). */
function needsOf(fault: WatchFault | null): Access[] {
  return [
    { verb: 'get', group: '', resource: 'pods' },
    { verb: 'patch', group: '', resource: 'pods', subresource: 'ephemeralcontainers' },
    { verb: 'get', group: '', resource: 'pods', subresource: 'log' },
    { verb: 'get', group: '', resource: 'services' },
    { verb: 'list', group: 'discovery.k8s.io', resource: 'endpointslices' },
    ...(fault ? WATCH_FAULTS[fault].access : []),
  ];
}

/** `--to`: an address and port, or a Service (its ClusterIP and its ready pods' addresses). */
async function remotesOf(api: K8sApi, to: string, port?: string): Promise<string[]> {
  if (/^\d/.test(to)) {
    const r = parseRemote(to);
    return [`${r.host}:${r.port}`];
  }
  const svc = await api.readService(to);
  const ports = svc.spec?.ports ?? [];
  const chosen = port ? ports.find((p) => p.port === Number(port)) : ports[0];
  if (!chosen)
    throw new BadInputError(
      `service ${to} has no port ${port ?? ''} (it has ${ports.map((p) => p.port).join(', ') || 'none'})`,
    );
  if (ports.length > 1 && !port)
    throw new BadInputError(
      `service ${to} has several ports (${ports.map((p) => p.port).join(', ')}): say which with --port`,
    );
  const out: string[] = [];
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== 'None') out.push(`${ip}:${chosen.port}`);
  // Where the CNI translates at connect(), the socket's peer is a pod itself.
  for (const slice of await api.listEndpointSlices(to)) {
    const target = slice.ports?.find((p) => p.name === chosen.name) ?? slice.ports?.[0];
    for (const e of slice.endpoints)
      for (const a of e.addresses) if (target?.port) out.push(`${a}:${target.port}`);
  }
  if (out.length === 0) throw new BadInputError(`service ${to} has no address to watch`);
  return [...new Set(out)];
}

/** The ephemeral container's state: running, or why it is not. */
function containerState(pod: V1Pod, name: string): 'running' | 'waiting' | Error {
  const st = pod.status?.ephemeralContainerStatuses?.find((c) => c.name === name)?.state;
  if (st?.running) return 'running';
  const w = st?.waiting;
  if (w?.reason && ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName'].includes(w.reason))
    return new BadInputError(
      `image can't be pulled for the watch (${w.reason}${w.message ? `: ${w.message}` : ''}): build the Dockerfile's image, push it, and give --image`,
    );
  if (st?.terminated)
    return new LabError(
      `the watch container ended before it ran: ${st.terminated.reason ?? ''} ${st.terminated.message ?? ''}`.trim(),
    );
  return 'waiting';
}

export async function watchApp(o: WatchOptions): Promise<WatchReport> {
  const plan = planWatch(o);
  const api = K8sApi.connect({
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context ? { context: o.context } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
  });
  await api.preflight(needsOf(plan.fault));
  const app = await api.readPod(o.pod);
  if (app.status?.phase !== 'Running')
    throw new BadInputError(
      `pod ${o.pod} is ${app.status?.phase ?? 'not running'}: watch a running pod`,
    );
  const remotes = await remotesOf(api, o.to, o.port);
  const runId = `${process.pid}-${randomBytes(2).toString('hex')}`;
  const name = `halfopen-watch-${runId.split('-')[1]}`;
  const container = watchContainer({
    name,
    image: o.image,
    ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}),
    ...(o.container ? { targetContainer: o.container } : {}),
    args: ['k8s', 'watch-here', '--to', remotes.join(','), '--for', `${plan.forMs}ms`],
  });
  validateEphemeralContainer(container);
  const teardowns = new Teardowns();
  const events: WatchEvent[] = [];
  const start = now();
  let t0: bigint | null = null;
  const at = (t: bigint): number => Math.round(msBetween(t0 ?? start, t) * 10) / 10;
  const note = (t: bigint, what: string): void => {
    const e = { at_ms: at(t), what };
    events.push(e);
    o.onEvent?.(e);
  };
  let connectedAt: bigint | null = null;
  let detected: { t: bigint; how: string } | null = null;
  let reconnected: bigint | null = null;
  const done = new AbortController();
  const stopAll = (): void => done.abort();
  o.signal.addEventListener('abort', stopAll, { once: true });
  try {
    await api.addEphemeralContainer(
      o.pod,
      container as Parameters<K8sApi['addEphemeralContainer']>[1],
    );
    // The container starts when the kubelet has pulled its image.
    for (const until = Date.now() + 300_000; ;) {
      const state = containerState(await api.readPod(o.pod), name);
      if (state instanceof Error) throw state;
      if (state === 'running') break;
      if (Date.now() > until) throw new LabError(`the watch container did not start within 300 s`);
      await sleep(500, done.signal);
      if (done.signal.aborted) break;
    }
    note(now(), `watching ${remotes.join(', ')} from ${o.pod} (container ${name})`);
    const fault = async (): Promise<void> => {
      await sleep(plan.afterMs, done.signal);
      if (done.signal.aborted || plan.fault === null) return;
      t0 = now();
      await APPLY[plan.fault]({ api, plan, o, runId, teardowns });
      // Everything so far, again relative to T0.
      for (const e of events) e.at_ms = Math.round((e.at_ms - msBetween(start, t0)) * 10) / 10;
      note(t0, `${plan.fault} applied (${WATCH_FAULTS[plan.fault].help})`);
    };
    let faulting: Promise<void> | null = null;
    const stream = api.streamLogs(
      o.pod,
      name,
      (line) => {
        const t = now();
        let e: { type?: string; code?: string; attempt?: number };
        try {
          e = JSON.parse(line) as typeof e;
        } catch {
          note(t, `watcher: ${line}`);
          return;
        }
        if (e.type === 'connected') {
          note(t, `connection ${e.attempt ?? ''} ESTABLISHED`);
          if (connectedAt === null) {
            connectedAt = t;
            faulting = fault();
          } else if (detected && reconnected === null) {
            reconnected = t;
            stopAll();
          }
        } else if (e.type === 'detected') {
          note(t, `left ESTABLISHED (${e.code ?? 'kernel'})`);
          if (detected === null && (plan.fault === null || t0 !== null))
            detected = { t, how: e.code ?? 'kernel' };
          if (plan.fault === null) stopAll();
        } else if (e.type === 'connecting') note(t, 'a new connection attempt (SYN sent)');
      },
      done.signal,
    );
    await stream;
    await (faulting ?? Promise.resolve());
  } finally {
    o.signal.removeEventListener('abort', stopAll);
    done.abort();
    const left = await teardowns.runAll();
    if (left.length > 0)
      // eslint-disable-next-line no-unsafe-finally
      throw new LabError(`could not undo the fault: ${left.join('; ')}`);
  }
  const base = t0 ?? connectedAt;
  const from = (t: bigint | null): number | null =>
    t === null || base === null ? null : Math.round(msBetween(base, t) * 10) / 10;
  const d = detected as { t: bigint; how: string } | null;
  return {
    pod: o.pod,
    namespace: api.namespace,
    remotes,
    fault: plan.fault,
    detect_ms: from(d?.t ?? null),
    detect_how: d?.how ?? null,
    reconnect_ms: from(reconnected),
    events,
  };
}

interface FaultCall {
  api: K8sApi;
  plan: Plan;
  o: WatchOptions;
  runId: string;
  teardowns: Teardowns;
}

/** What each watch fault does through the API (T0 is right before it). */
const APPLY: Record<WatchFault, (c: FaultCall) => Promise<void>> = {
  'pod-delete': async ({ api, o }) => {
    await api.deletePod(o.serverPod!);
  },
  'pod-force-delete': async ({ api, o }) => {
    await api.deletePod(o.serverPod!, 0);
  },
  'node-drain': async ({ api, o, teardowns }) => {
    const node = (await api.readPod(o.serverPod!)).spec?.nodeName;
    if (!node) throw new LabError(`pod ${o.serverPod} is on no node`);
    teardowns.defer(`uncordon ${node}`, () => api.cordon(node, false));
    await api.cordon(node, true);
    await api.evictPod(o.serverPod!);
  },
  'network-policy': async ({ api, plan, runId, teardowns }) => {
    const policy = denySelected(
      { runId, namespace: api.namespace },
      `halfopen-deny-${runId}`,
      plan.selector!,
    );
    validateObject(policy);
    teardowns.defer(`delete networkpolicy ${policy.metadata!.name}`, () =>
      api.deleteNetworkPolicy(policy.metadata!.name!),
    );
    await api.create(policy as Parameters<K8sApi['create']>[0]);
  },
};
