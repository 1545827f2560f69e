/**
 * `halfopen k8s probe`: the cluster's own timings, which the kube testbed can only take as
 * parameters, measured or read where the API shows them:
 *   - the API server's version, and from it the node-monitor-grace-period a cluster of that
 *     version defaults to (a controller-manager flag: not readable through the API);
 *   - kube-proxy's mode and conntrack timeouts, from its ConfigMap in kube-system where the user
 *     may read it (kubeadm's layout; other distributions keep it elsewhere);
 *   - endpoint propagation: a probe target of two replicas is deployed, one pod deleted, and the
 *     time from the DELETE's answer to its endpoint turning terminating (or leaving) in the
 *     Service's EndpointSlice is measured. That is the control plane's part; kube-proxy's own
 *     sync on each node is not visible through the API and comes on top;
 *   - the eviction delay: the tolerationSeconds the API server's admission gives a pod for an
 *     unreachable node (read from the probe's pod);
 *   - whether a NetworkPolicy cuts an established connection: a real `network-policy` experiment
 *     (tcp, publishing): 'fault not in force' means the CNI judges only new connections.
 * The measured values are printed as the flags that feed the predicted windows.
 */
import { parse as parseYaml } from 'yaml';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { defaultKube } from '../../core/kube.js';
import { LabError, TeardownError } from '../../errors.js';
import type { ExperimentSpec } from '../../scenario/spec.js';
import { validateSpec } from '../../scenario/spec.js';
import { parseStrategy, parseWorkload } from '../../scenario/spec.js';
import { now, msBetween, sleep } from '../../util/clock.js';
import { Teardowns } from '../../util/teardown.js';
import { K8sApi } from './api.js';
import { anchorConfigMap, targetObjects, validateObject } from './manifests.js';
import { experimentName, runSelector, type RunRef } from './names.js';
import { experimentsJson, targetPlan, type K8sRunOptions } from './plan.js';
import { endpointStates, type SliceObject } from './watch-events.js';
import { submitMatrix, userNeeds } from './submit.js';
import { newRunId } from '../netns/names.js';

export interface ProbeReport {
  server: string;
  version: string;
  /** kube-proxy's configuration, where it could be read. */
  kube_proxy: {
    mode: string | null;
    conntrack_established_s: number | null;
    conntrack_close_wait_s: number | null;
    source: string;
  };
  /** DELETE's answer to the endpoint terminating (or gone) in its EndpointSlice (0: seen first). */
  endpoint_lag_ms: number | null;
  /** How long a pod stays bound to an unreachable node before its eviction. */
  eviction_s: number | null;
  /** node-monitor-grace-period, assumed from the version. */
  node_grace_s: number;
  /** What a deny-all NetworkPolicy does to an established connection. */
  policy: 'cuts established connections' | 'judges new connections only' | 'unknown';
  policy_detail: string;
  /** The flags that feed these into the predicted windows. */
  flags: string[];
}

/** `24h0m0s` (Go's duration) as seconds; null for anything else. */
export function goDurationS(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** kube-proxy's mode and conntrack timeouts from its configuration file (KubeProxyConfiguration). */
export function kubeProxyConfig(text: string): ProbeReport['kube_proxy'] {
  const c = (parseYaml(text) ?? {}) as {
    mode?: string;
    conntrack?: { tcpEstablishedTimeout?: string; tcpCloseWaitTimeout?: string };
  };
  return {
    // An empty mode is the platform's default: iptables on Linux.
    mode: c.mode ? c.mode : 'iptables (the default: mode is empty)',
    conntrack_established_s: goDurationS(c.conntrack?.tcpEstablishedTimeout),
    conntrack_close_wait_s: goDurationS(c.conntrack?.tcpCloseWaitTimeout),
    source: 'kube-system/kube-proxy ConfigMap (config.conf)',
  };
}

/** node-monitor-grace-period's default for a version: 40 s, 50 s from 1.32. */
export function nodeGraceFor(minor: number): number {
  return minor >= 32 ? 50 : 40;
}

/** The tolerationSeconds for an unreachable node that admission gave the pod. */
export function evictionOf(pod: V1Pod): number | null {
  const t = pod.spec?.tolerations?.find(
    (x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute',
  );
  return t?.tolerationSeconds ?? null;
}

/** The flags that give a prediction the cluster's own timings. */
export function probeFlags(
  r: Pick<ProbeReport, 'endpoint_lag_ms' | 'eviction_s' | 'node_grace_s'>,
): string[] {
  return [
    ...(r.endpoint_lag_ms !== null ? [`--endpoint-lag ${Math.round(r.endpoint_lag_ms)}ms`] : []),
    `--node-grace ${r.node_grace_s}s`,
    ...(r.eviction_s !== null ? [`--eviction ${r.eviction_s}s`] : []),
  ];
}

/** The probe's target: the lab's TCP server, two replicas (one to delete, one to stay). */
function probeSpec(): ExperimentSpec {
  return validateSpec({
    testbed: 'k8s',
    target: 'tcp',
    strategy: parseStrategy('none'),
    workload: parseWorkload('publish:10'),
    fault: 'network-policy',
    healMs: null,
    restartMs: null,
    qos: 0,
    deadlineMs: 15_000,
    warmupMs: 2000,
    sysctls: {},
    kube: { ...defaultKube(2), replicas: 2 },
  });
}

/** How long the deleted pod's endpoint may take to change before the probe gives up. */
const ENDPOINT_WAIT_MS = 60_000;

/** Endpoint propagation: deploy, delete one pod, time its endpoint's change. */
async function endpointLag(
  api: K8sApi,
  runId: string,
  image: string,
  signal: AbortSignal,
): Promise<{ lagMs: number | null; eviction: number | null }> {
  const teardowns = new Teardowns();
  const spec = probeSpec();
  const bare: RunRef = { runId, namespace: api.namespace };
  try {
    teardowns.defer('delete the probe', async () => {
      await api.deleteRun(runSelector(runId));
    });
    const anchor = anchorConfigMap(
      bare,
      experimentsJson({ version: 1, runId, image, experiments: [spec] }),
    );
    validateObject(anchor);
    const made = await api.create(anchor as KubernetesObject);
    const run: RunRef = {
      ...bare,
      ...(made.metadata?.uid ? { anchorUid: made.metadata.uid } : {}),
    };
    for (const o of targetObjects(run, 0, targetPlan(spec, image))) {
      validateObject(o);
      await api.create(o as KubernetesObject);
    }
    const sts = experimentName(runId, 0);
    const pods = await Promise.all(
      [0, 1].map((r) => api.waitPodRunning(`${sts}-${r}`, 300_000, signal)),
    );
    const eviction = evictionOf(pods[0]!);
    // Both endpoints ready before the deletion, or the change seen may be an earlier one.
    const victim = `${sts}-1`;
    const ready = async (): Promise<boolean> => {
      const states = endpointStates(await api.listEndpointSlices(sts));
      return states.get(`${sts}-0`) === 'ready' && states.get(victim) === 'ready';
    };
    for (const until = Date.now() + ENDPOINT_WAIT_MS; !(await ready());) {
      if (Date.now() > until) throw new LabError('the probe target never had both endpoints ready');
      await sleep(200, signal);
    }
    const watching = new AbortController();
    signal.addEventListener('abort', () => watching.abort(), { once: true });
    let changed: bigint | null = null;
    let sent: bigint | null = null;
    // From the DELETE's request on, not its answer: the EndpointSlice controller may update the
    // slice before the answer is read, and a change seen then must count (a lag of 0), or the
    // probe waits for one that has already happened and measures nothing.
    let deleting = false;
    const slices = new Map<string, SliceObject>();
    // The watch has listed the victim's endpoint ready: only then is a change a change.
    let listed: () => void = () => undefined;
    const seenReady = new Promise<void>((resolve) => (listed = resolve));
    const watch = api
      .watch(
        'endpointslices',
        `kubernetes.io/service-name=${sts}`,
        (type, obj) => {
          const name = obj.metadata?.name ?? '';
          if (type === 'DELETED') slices.delete(name);
          else slices.set(name, obj);
          const state = endpointStates([...slices.values()]).get(victim);
          if (state === 'ready') listed();
          if (deleting && changed === null && state !== 'ready') {
            changed = now();
            watching.abort();
          }
        },
        watching.signal,
      )
      .catch(() => undefined);
    const waited = new AbortController();
    await Promise.race([seenReady, watch, sleep(ENDPOINT_WAIT_MS, waited.signal)]);
    waited.abort(); // its timer must not keep the process alive
    deleting = true;
    await api.deletePod(victim);
    sent = now();
    await Promise.race([watch, sleep(ENDPOINT_WAIT_MS, watching.signal)]);
    watching.abort();
    const at = changed as bigint | null;
    const from = sent as bigint | null;
    return {
      lagMs: at === null || from === null ? null : Math.max(0, Math.round(msBetween(from, at))),
      eviction,
    };
  } finally {
    const left = await teardowns.runAll();
    if (left.length > 0)
      // eslint-disable-next-line no-unsafe-finally
      throw new LabError(
        `could not delete the probe: ${left.join('; ')} (halfopen cleanup --testbed k8s)`,
      );
  }
}

export async function probeCluster(
  opts: K8sRunOptions & { runId: string; signal: AbortSignal; onStep?: (s: string) => void },
): Promise<ProbeReport> {
  const step = opts.onStep ?? (() => undefined);
  const api = K8sApi.connect({
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
  await api.preflight(userNeeds(false));
  step('reading the version and kube-proxy configuration');
  const version = await api.serverVersion();
  const minor = Number(/^(\d+)/.exec(version.minor)?.[1] ?? '0');
  let kubeProxy: ProbeReport['kube_proxy'];
  try {
    const cm = await api.readConfigMapIn('kube-system', 'kube-proxy');
    kubeProxy = kubeProxyConfig(cm.data?.['config.conf'] ?? '');
  } catch (err) {
    kubeProxy = {
      mode: null,
      conntrack_established_s: null,
      conntrack_close_wait_s: null,
      source: `not readable: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  step('measuring endpoint propagation (a probe target of two pods, one deleted)');
  const { lagMs, eviction } = await endpointLag(api, opts.runId, opts.image, opts.signal);
  step('checking whether a NetworkPolicy cuts an established connection');
  // A run of its own: the endpoint probe's objects may still be going.
  const { rows, leftovers } = await submitMatrix([probeSpec()], { ...opts, runId: newRunId() });
  if (leftovers.length > 0) throw new TeardownError(undefined, leftovers);
  const r = rows[0]!.result;
  const policy: ProbeReport['policy'] = !r
    ? 'unknown'
    : r.verdict === 'fault not in force'
      ? 'judges new connections only'
      : 'cuts established connections';
  const policyDetail = !r
    ? `the experiment failed: ${rows[0]!.error ?? ''}`
    : r.verdict === 'fault not in force'
      ? 'messages still crossed 5 s after the deny-all policy was accepted'
      : `no message crossed after the policy (${r.lost} lost); verdict ${r.verdict}`;
  const report = {
    server: api.server,
    version: version.gitVersion,
    kube_proxy: kubeProxy,
    endpoint_lag_ms: lagMs,
    eviction_s: eviction,
    node_grace_s: nodeGraceFor(minor),
    policy,
    policy_detail: policyDetail,
  };
  return { ...report, flags: probeFlags(report) };
}
