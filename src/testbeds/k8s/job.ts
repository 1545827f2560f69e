/**
 * One index of the run's Indexed Job: `halfopen k8s job --experiments <file>` runs the experiment
 * at JOB_COMPLETION_INDEX (or `--index`) and prints its outcome as one marked line in its log, which
 * the CLI reads back. An experiment that fails is an outcome too (a row with its error), so the
 * process exits 0 for it: only a driver that could not run at all fails its index.
 *
 * The same entry point runs an experiment of any testbed: in the cluster the k8s testbed (the API
 * in-cluster, from the pod's ServiceAccount), and locally the others (how the tests check it).
 */
import { InterruptedError } from '../../errors.js';
import { runExperiment, type ExperimentResult } from '../../runner/experiment.js';
import { newRunId } from '../netns/names.js';
import { K8sApi } from './api.js';
import { experimentAt, loadExperiments } from './plan.js';
import type { ClusterRun } from './testbed.js';

/** The log line that carries an index's outcome. */
export const OUTCOME_MARK = 'HALFOPEN_OUTCOME ';

export interface IndexOutcome {
  index: number;
  result?: ExperimentResult;
  error?: string;
  wallMs: number;
}

/** One line: the result's timeline stamps (bigint) as decimal strings. */
export function encodeOutcome(o: IndexOutcome): string {
  return `${OUTCOME_MARK}${JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
}

/** The outcome in a log, or null when the log has none (the driver died before its end). */
export function decodeOutcome(log: string): IndexOutcome | null {
  const line = log.split('\n').find((l) => l.startsWith(OUTCOME_MARK));
  if (!line) return null;
  const o = JSON.parse(line.slice(OUTCOME_MARK.length)) as IndexOutcome;
  if (o.result)
    o.result.timeline = o.result.timeline.map((e) => ({
      ...e,
      t: BigInt(e.t as unknown as string),
    }));
  return o;
}

export interface JobIndexOptions {
  experiments: string;
  index?: string;
  signal: AbortSignal;
  onProgress?: (status: string) => void;
}

/** The cluster the driver runs in: the pod's own ServiceAccount, namespace and run. */
function clusterOf(runId: string, image: string): ClusterRun {
  const api = K8sApi.connect({
    inCluster: true,
    ...(process.env.HALFOPEN_NAMESPACE ? { namespace: process.env.HALFOPEN_NAMESPACE } : {}),
  });
  const anchorUid = process.env.HALFOPEN_ANCHOR_UID;
  return {
    runId,
    api,
    image: process.env.HALFOPEN_IMAGE || image,
    ...(anchorUid ? { anchorUid } : {}),
  };
}

export async function runJobIndex(opts: JobIndexOptions): Promise<IndexOutcome> {
  const doc = loadExperiments(opts.experiments);
  const index = experimentAt(doc, opts.index ?? process.env.JOB_COMPLETION_INDEX);
  const spec = doc.experiments[index]!;
  const started = Date.now();
  const onCluster = spec.testbed === 'k8s';
  try {
    const result = await runExperiment(spec, {
      // On the cluster, objects are named by the run; locally, namespaces by this process.
      runId: onCluster ? doc.runId : newRunId(),
      index,
      signal: opts.signal,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(onCluster ? { cluster: clusterOf(doc.runId, doc.image) } : {}),
    });
    return { index, result, wallMs: Date.now() - started };
  } catch (err) {
    if (err instanceof InterruptedError) throw err;
    return {
      index,
      error: err instanceof Error ? err.message : String(err),
      wallMs: Date.now() - started,
    };
  }
}
