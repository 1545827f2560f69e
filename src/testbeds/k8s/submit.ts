/**
 * A matrix on a real cluster, from the user's machine: the expanded experiments go into the run's
 * anchor ConfigMap, one Indexed Job runs one experiment per index (parallelism from --parallel),
 * and each index's outcome is read back from its pod's log into the same rows a local matrix
 * gives (so the same summary.json and report). At the end, on an error and on Ctrl-C, everything
 * the run created is deleted by its labels (and its owner, the anchor).
 *
 *   anchor ConfigMap ──owns──> ServiceAccount, Role, RoleBinding, Job ──> driver pods (one per index)
 *        (experiments.json)                                               each deploys its target
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { BadInputError, InterruptedError, LabError, TeardownError } from '../../errors.js';
import { FAULT_DEFS } from '../../faults/index.js';
import type { MatrixRow, MatrixStatus } from '../../runner/matrix.js';
import type { ExperimentSpec } from '../../scenario/spec.js';
import { sleep } from '../../util/clock.js';
import { Teardowns } from '../../util/teardown.js';
import { K8sApi, type Access } from './api.js';
import { decodeOutcome } from './job.js';
import {
  anchorConfigMap,
  denyAllPolicy,
  driverAccess,
  matrixJob,
  nodeAccess,
  USER_NODE_RULES,
  targetObjects,
  toYaml,
  USER_RULES,
  validateObject,
} from './manifests.js';
import { COMPONENT_LABEL, runName, runSelector, type RunRef } from './names.js';
import { experimentsJson, targetPlan, type K8sRunOptions } from './plan.js';

/** How long a pod may take to be scheduled and pulled, on top of the experiment itself. */
const POD_START_S = 300;
/** How often the Job's pods are looked at (unless SubmitOptions.pollMs says otherwise). */
const POLL_MS = 2000;
/** How long the Job may go without creating any driver pod before its events are shown. */
const NO_POD_MS = 120_000;

/** The Job's latest warnings (FailedCreate: why no pod), as the end of a message. */
async function jobEvents(api: K8sApi, job: string): Promise<string> {
  const events = await api.listEvents(`involvedObject.name=${job}`).catch(() => []);
  const warnings = events
    .filter((e) => e.type === 'Warning')
    .map((e) => `${e.reason}: ${e.message}`);
  return warnings.length > 0 ? `: ${warnings.slice(-2).join('; ')}` : ' (no event says why)';
}
/** The annotation (and label) an Indexed Job's pod carries its index in. */
const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';

/** Does any experiment need the opt-in node access (node-drain's cordon)? */
export const needsNodeAccess = (specs: readonly ExperimentSpec[]): boolean =>
  specs.some((s) => FAULT_DEFS[s.fault].testbeds.k8s?.access?.includes('nodes'));

/** The Job's deadline: every wave of experiments, each its warm-up, deadline and pod start. */
function jobDeadlineS(specs: readonly ExperimentSpec[], parallel: number): number {
  const longest = Math.max(...specs.map((s) => s.warmupMs + s.deadlineMs)) / 1000;
  return Math.ceil(specs.length / parallel) * Math.ceil(longest + 2 * POD_START_S);
}

/**
 * Every object of the run, in the order they are applied: the run's own (applied by the CLI), and
 * each experiment's (applied by its driver; the deny-all policy only at the network-policy fault).
 */
export function runObjects(
  run: RunRef,
  specs: readonly ExperimentSpec[],
  opts: Pick<K8sRunOptions, 'image' | 'imagePullPolicy' | 'nodeAccess' | 'parallel'>,
): { own: object[]; drivers: object[][] } {
  const pull = opts.imagePullPolicy;
  // A fault that needs node access asks for it itself (node-drain's cordon): without the
  // ClusterRole its driver would be refused, so a dry run shows it as the run applies it.
  const nodes = opts.nodeAccess || needsNodeAccess(specs);
  const own: object[] = [
    anchorConfigMap(
      run,
      experimentsJson({ version: 1, runId: run.runId, image: opts.image, experiments: [...specs] }),
    ),
    ...driverAccess(run),
    ...(nodes ? nodeAccess(run) : []),
    matrixJob(run, {
      completions: specs.length,
      parallelism: Math.min(opts.parallel, specs.length),
      image: opts.image,
      ...(pull ? { imagePullPolicy: pull } : {}),
      activeDeadlineSeconds: jobDeadlineS(specs, opts.parallel),
    }),
  ];
  const drivers = specs.map((spec, i) => [
    ...targetObjects(run, i, targetPlan(spec, opts.image, pull)),
    ...(FAULT_DEFS[spec.fault].testbeds.k8s?.deniesAll ? [denyAllPolicy(run, i)] : []),
  ]);
  for (const o of [...own, ...drivers.flat()]) validateObject(o);
  return { own, drivers };
}

/** `--dry-run`: every manifest the run would apply, as one YAML stream. */
export function dryRunYaml(
  runId: string,
  namespace: string,
  specs: readonly ExperimentSpec[],
  opts: K8sRunOptions,
): string {
  const { own, drivers } = runObjects({ runId, namespace }, specs, opts);
  const parts = [
    `# halfopen run ${runId} in namespace ${namespace}: applied by halfopen (owner references to the anchor are added once it exists)\n${toYaml(own)}`,
    ...drivers.map(
      (objs, i) =>
        `# experiment ${i} (${specs[i]!.target} ${specs[i]!.fault}): applied by its driver pod\n${toYaml(objs)}`,
    ),
  ];
  return parts.join('---\n');
}

/** The rules as the preflight's access checks. */
function accessOf(rules: typeof USER_RULES, namespaced: boolean): Access[] {
  return rules.flatMap((r) => {
    const [resource, subresource] = (r.resources?.[0] ?? '').split('/');
    return r.verbs.map((verb) => ({
      verb,
      group: r.apiGroups?.[0] ?? '',
      resource: resource!,
      ...(subresource ? { subresource } : {}),
      namespaced,
    }));
  });
}

/** What the user needs for this run: USER_RULES, and for node access the node rules and RBAC. */
export function userNeeds(nodeAccessToo: boolean): Access[] {
  return [
    ...accessOf(USER_RULES, true),
    ...(nodeAccessToo ? accessOf(USER_NODE_RULES, false) : []),
  ];
}

export interface SubmitOptions extends K8sRunOptions {
  runId: string;
  signal: AbortSignal;
  /** How often the Job's pods are looked at (default 2 s); tests against a fake API poll faster. */
  pollMs?: number;
  onStatus?: (s: MatrixStatus & { note?: string }) => void;
  onRow?: (row: MatrixRow) => void;
  /** How long to wait for a first driver pod before asking the Job's events why (default 120 s). */
  noPodMs?: number;
}

/** A pod's container waiting on an image it cannot pull: the reason and message. */
function pullFailure(pod: {
  status?: {
    containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}): string | null {
  for (const c of pod.status?.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName'].includes(w.reason))
      return `${w.reason}${w.message ? `: ${w.message}` : ''}`;
  }
  return null;
}

/** What a run on the cluster gave: its rows, and what its teardown could not delete. */
export interface ClusterOutcome {
  rows: MatrixRow[];
  /** Each object or step the teardown left behind (reported after the results are written). */
  leftovers: string[];
}

/**
 * Runs the experiments as the run's Indexed Job; rows in index order, as runMatrix gives them.
 * What the teardown could not delete is returned with them, so a finished run's results are kept.
 */
export async function submitMatrix(
  specs: readonly ExperimentSpec[],
  opts: SubmitOptions,
): Promise<ClusterOutcome> {
  const nodes = opts.nodeAccess || needsNodeAccess(specs);
  const api = K8sApi.connect({
    ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
  // Unreachable, no namespace, missing RBAC: one line each, before anything is created.
  await api.preflight(userNeeds(nodes));
  const teardowns = new Teardowns();
  const runId = opts.runId;
  const rows: MatrixRow[] = specs.map((spec, index) => ({ index, spec }));
  let failure: Error | undefined;
  try {
    teardowns.defer(`delete run ${runId}`, async () => {
      await api.deleteRun(runSelector(runId), nodes ? 'yes' : 'no');
    });
    // First the Job, waiting for its drivers to go: each undoes what it did (an uncordon, its
    // target) in its own teardown, which needs the access deleted next.
    teardowns.defer(`stop the drivers of run ${runId}`, () => stopDrivers(api, runId));
    const bare: RunRef = { runId, namespace: api.namespace };
    const objects = (anchorUid?: string): KubernetesObject[] =>
      runObjects(anchorUid ? { ...bare, anchorUid } : bare, specs, {
        ...opts,
        nodeAccess: nodes,
      }).own;
    const made = await api.create(objects()[0]!);
    const uid = made.metadata?.uid;
    if (!uid) throw new LabError(`the API gave the anchor ConfigMap ${runName(runId)} no uid`);
    // Everything else is owned by the anchor: built again with its uid.
    for (const o of objects(uid).slice(1)) await api.create(o);
    await follow(api, rows, opts);
  } catch (err) {
    failure = err instanceof Error ? err : new LabError(String(err));
  }
  const leftovers = await teardowns.runAll();
  if (leftovers.length > 0 && (opts.signal.aborted || failure !== undefined))
    throw new TeardownError(opts.signal.aborted ? new InterruptedError() : failure, leftovers);
  if (opts.signal.aborted) throw new InterruptedError();
  if (failure !== undefined) throw failure;
  return { rows, leftovers };
}

/** How long the drivers get to undo what they did once their Job is deleted. */
const DRIVERS_STOP_MS = 60_000;

/** Deletes the Job (its pods get SIGTERM) and waits until no driver pod is left. */
async function stopDrivers(api: K8sApi, runId: string): Promise<void> {
  await api.deleteObject(
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: runName(runId) } },
    'Foreground',
  );
  const selector = `${runSelector(runId)},${COMPONENT_LABEL}=driver`;
  for (const until = Date.now() + DRIVERS_STOP_MS; Date.now() < until;) {
    if ((await api.listPods(selector)).length === 0) return;
    await sleep(1000);
  }
  throw new LabError(`driver pods of run ${runId} still there after ${DRIVERS_STOP_MS / 1000} s`);
}

/** Reads each index's outcome as its pod ends, until every index has one. */
async function follow(api: K8sApi, rows: MatrixRow[], opts: SubmitOptions): Promise<void> {
  const selector = `${runSelector(opts.runId)},${COMPONENT_LABEL}=driver`;
  const done = new Set<number>();
  const started = Date.now();
  const jobName = runName(opts.runId);
  const deadline =
    started +
    (jobDeadlineS(
      rows.map((r) => r.spec),
      opts.parallel,
    ) +
      120) *
      1000;
  let anyPod = false;
  while (done.size < rows.length) {
    if (opts.signal.aborted) throw new InterruptedError();
    if (Date.now() > deadline)
      throw new LabError(`the Job ${jobName} did not finish within its deadline`);
    const pods = await api.listPods(selector);
    anyPod ||= pods.length > 0;
    // No driver pod at all: the Job controller cannot create them (Pod Security, a quota); its
    // events say why.
    if (!anyPod && Date.now() - started > (opts.noPodMs ?? NO_POD_MS))
      throw new LabError(
        `no driver pod was created for the Job ${jobName} in ${Math.round((opts.noPodMs ?? NO_POD_MS) / 1000)} s${await jobEvents(api, jobName)}`,
      );
    let running = 0;
    for (const pod of pods) {
      const index = Number(
        pod.metadata?.annotations?.[INDEX_KEY] ?? pod.metadata?.labels?.[INDEX_KEY],
      );
      if (!Number.isInteger(index) || done.has(index) || !rows[index]) continue;
      const pull = pullFailure(pod);
      if (pull)
        throw new BadInputError(
          `image '${opts.image}' can't be pulled (${pull}): build it from the Dockerfile, push it where the cluster can pull it, and give --image`,
        );
      const phase = pod.status?.phase;
      if (phase !== 'Succeeded' && phase !== 'Failed') {
        if (phase === 'Running') running += 1;
        continue;
      }
      // Evicted, preempted, or lost with its node: the Job runs the index again (podFailurePolicy).
      if (pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True'))
        continue;
      const log = await api
        .readLogs(pod.metadata?.name ?? '', 'driver')
        .catch((err: unknown) => `${String(err)}`);
      let outcome: ReturnType<typeof decodeOutcome>;
      try {
        outcome = decodeOutcome(log);
      } catch (err) {
        outcome = { index, error: `its outcome line is unreadable: ${String(err)}`, wallMs: 0 };
      }
      const row = rows[index];
      if (outcome?.result) row.result = outcome.result;
      else
        row.error =
          outcome?.error ??
          `the driver of experiment ${index} ended (${phase}) without an outcome: ${log.trim().split('\n').pop() ?? 'no log'}`;
      row.wallMs = outcome?.wallMs ?? 0;
      done.add(index);
      opts.onRow?.(row);
    }
    // A Job that ended (failed: its deadline, a driver that crashed; or complete while a pod was
    // gone before its log was read) leaves the rest without outcomes.
    const job = await api.readJob(jobName);
    const ended = job.status?.conditions?.find(
      (c) => (c.type === 'Failed' || c.type === 'Complete') && c.status === 'True',
    );
    if (ended && running === 0) {
      for (const row of rows)
        if (!done.has(row.index)) {
          row.error =
            ended.type === 'Failed'
              ? `stopped: the Job failed (${`${ended.reason ?? ''} ${ended.message ?? ''}`.trim()}) before this experiment's outcome was read`
              : 'its driver pod was gone before its outcome was read';
          done.add(row.index);
          opts.onRow?.(row);
        }
      break;
    }
    const perDone = done.size > 0 ? (Date.now() - started) / done.size : null;
    opts.onStatus?.({
      done: done.size,
      total: rows.length,
      running,
      failed: rows.filter((r) => r.error !== undefined).length,
      limit: opts.parallel, // the Job's parallelism: fixed
      etaS: perDone === null ? null : Math.round((perDone * (rows.length - done.size)) / 1000),
    });
    if (done.size < rows.length)
      await sleep(opts.pollMs ?? POLL_MS, opts.signal).catch(() => undefined);
  }
}
