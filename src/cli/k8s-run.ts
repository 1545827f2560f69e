/**
 * What talks to a real cluster from the command line, loaded on first use (see k8s.ts): the run
 * submitted as an Indexed Job (or its manifests printed), one index of it, and cleanup.
 */
import type { MatrixRow } from '../runner/matrix.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import { K8sApi } from '../testbeds/k8s/api.js';
import { encodeOutcome, runJobIndex } from '../testbeds/k8s/job.js';
import { runSelector } from '../testbeds/k8s/names.js';
import type { ClusterChoice, K8sRunOptions } from '../testbeds/k8s/plan.js';
import {
  dryRunYaml,
  needsNodeAccess,
  submitMatrix,
  type ClusterOutcome,
} from '../testbeds/k8s/submit.js';
import { newRunId } from '../testbeds/netns/names.js';
import { DEFAULT_IMAGE } from '../testbeds/k8s/plan.js';
import { watchApp } from '../testbeds/k8s/watch-app.js';
import { probeCluster, type ProbeReport } from '../testbeds/k8s/probe.js';
import { Progress } from './progress.js';
import type { WatchFlags } from '../testbeds/k8s/watch-faults.js';
import { BadInputError } from '../errors.js';

/**
 * Runs experiments on the cluster as one Indexed Job; with --dry-run prints the manifests and
 * returns null.
 */
export async function runOnCluster(
  specs: readonly ExperimentSpec[],
  opts: K8sRunOptions,
  flags: { dryRun?: boolean },
  signal: AbortSignal,
  hooks: {
    onStatus?: Parameters<typeof submitMatrix>[1]['onStatus'];
    onRow?: (row: MatrixRow) => void;
  } = {},
  runId = newRunId(),
): Promise<ClusterOutcome | null> {
  if (flags.dryRun) {
    const nodes = opts.nodeAccess || needsNodeAccess(specs);
    // The namespace the run would use: given, else the context's (read locally, no request).
    let namespace = opts.namespace ?? 'default';
    try {
      namespace = K8sApi.connect({
        ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
        ...(opts.context ? { context: opts.context } : {}),
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
      }).namespace;
    } catch {
      // No kubeconfig: a dry run needs none.
    }
    process.stdout.write(dryRunYaml(runId, namespace, specs, { ...opts, nodeAccess: nodes }));
    return null;
  }
  return submitMatrix(specs, { ...opts, runId, signal, ...hooks });
}

/** `halfopen k8s job`: one index of the run's Indexed Job (or, with --index, any experiment). */
export async function jobCommand(
  flags: { experiments: string; index?: string },
  signal: AbortSignal,
): Promise<void> {
  const outcome = await runJobIndex({
    experiments: flags.experiments,
    ...(flags.index !== undefined ? { index: flags.index } : {}),
    signal,
    onProgress: (s) => process.stderr.write(`${s}\n`),
  });
  process.stdout.write(`${encodeOutcome(outcome)}\n`);
}

/** `halfopen cleanup --testbed k8s`: everything of halfopen's runs in the namespace (or one run). */
export async function cleanupCluster(
  flags: ClusterChoice & { run?: string; json?: boolean },
): Promise<void> {
  if (flags.run !== undefined && !/^\d+-[0-9a-f]{4}$/.test(flags.run))
    throw new BadInputError(`--run '${flags.run}' is not a run id (like 4242-ab12)`);
  const api = K8sApi.connect({
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
  });
  const deleted = await api.deleteRun(runSelector(flags.run), 'if-allowed');
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ namespace: api.namespace, deleted })}\n`);
    return;
  }
  if (deleted.length === 0)
    process.stdout.write(`nothing of halfopen's in namespace ${api.namespace} to clean up\n`);
  for (const d of deleted) process.stdout.write(`deleted ${d}\n`);
}

/** `halfopen k8s watch`: the report, as lines or one JSON object. */
export async function watchCommand(
  pod: string,
  flags: WatchFlags,
  signal: AbortSignal,
): Promise<void> {
  const report = await watchApp({
    pod,
    ...flags,
    image: flags.image ?? DEFAULT_IMAGE,
    signal,
    ...(flags.json
      ? {}
      : {
          onEvent: (e) =>
            process.stderr.write(`${e.at_ms.toFixed(1).padStart(10)} ms  ${e.what}\n`),
        }),
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const ms = (v: number | null): string => (v === null ? 'not seen' : `${v} ms`);
  process.stdout.write(
    [
      `pod        ${report.namespace}/${report.pod}, watching ${report.remotes.join(', ')}`,
      `fault      ${report.fault ?? 'none (watched as it is)'}`,
      `detected   ${ms(report.detect_ms)}${report.detect_how ? ` (${report.detect_how})` : ''}`,
      `reconnect  ${ms(report.reconnect_ms)}`,
    ].join('\n') + '\n',
  );
}

/** `halfopen k8s probe`: the cluster's timings, as lines or one JSON object. */
export async function probeCommand(
  opts: K8sRunOptions & { json?: boolean },
  signal: AbortSignal,
): Promise<void> {
  const progress = new Progress(opts.json ? false : undefined);
  let report: ProbeReport;
  try {
    report = await probeCluster({ ...opts, runId: newRunId(), signal, onStep: progress.update });
  } finally {
    progress.clear();
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const kp = report.kube_proxy;
  const s = (v: number | null, unit: string): string =>
    v === null ? 'not measured' : `${v} ${unit}`;
  process.stdout.write(
    [
      `cluster          ${report.server} (${report.version})`,
      `kube-proxy       ${kp.mode ?? 'unknown'}; conntrack established ${s(kp.conntrack_established_s, 's')}, close-wait ${s(kp.conntrack_close_wait_s, 's')} (${kp.source})`,
      `endpoint lag     ${s(report.endpoint_lag_ms, 'ms')} (DELETE to its EndpointSlice; kube-proxy's sync comes on top)`,
      `node grace       ${report.node_grace_s} s (assumed from the version: not readable through the API)`,
      `eviction         ${s(report.eviction_s, 's')} (the pods' toleration for an unreachable node)`,
      `network policy   ${report.policy}: ${report.policy_detail}`,
      `for predictions  ${report.flags.join(' ')}`,
    ].join('\n') + '\n',
  );
}
