/**
 * Runs one experiment, from an empty machine back to an empty machine, as a list of tasks on one
 * teardown stack (tasks/task.ts):
 *   preflight  can this machine host it; which target runs
 *   testbed    namespaces, veths, addresses, client sysctls (or the proxy on loopback)
 *   target     started on the server's side; wait until it listens
 *   sink       for brokers, next to the target (server side, loopback)
 *   client     started on the client's side; wait until connected; warm up
 *   fault      applied (T0)
 *   return     the heal or the target's restart, scheduled from T0
 *   watch      until the client has detected and, when the path returns, reconnected (or deadline)
 *   collect    the wire's counters; stop the sending side, let the receiving side drain
 * then everything is torn down in reverse (also on error and on abort), and the result is a pure
 * function of what was recorded (result.ts).
 */
import { predict } from '../advise/predict.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import { Teardowns } from '../util/teardown.js';
import { buildResult, type ExperimentResult } from './result.js';
import { clientOf } from './spec-questions.js';
import { client, sink } from './tasks/client.js';
import { need, type ExperimentContext } from './tasks/context.js';
import { fault, pathReturn } from './tasks/fault.js';
import { target } from './tasks/target.js';
import { runTasks, type Task } from './tasks/task.js';
import { preflight, testbed } from './tasks/testbed.js';
import { collect, watch } from './tasks/watch.js';
import { Timeline } from './timeline.js';
import type { ClusterRun } from '../testbeds/k8s/testbed.js';

export type { ExperimentResult } from './result.js';

export interface ExperimentOptions {
  runId: string;
  index: number;
  signal?: AbortSignal;
  /** Called with a short status line as the experiment progresses. */
  onProgress?: (status: string) => void;
  /** The cluster, for an experiment on the k8s testbed (the driver in its pod gives it). */
  cluster?: ClusterRun;
}

/** The experiment's steps, in order. */
export const EXPERIMENT_TASKS: readonly Task<ExperimentContext>[] = [
  preflight,
  testbed,
  target,
  sink,
  client,
  fault,
  pathReturn,
  watch,
  collect,
];

export async function runExperiment(
  spec: ExperimentSpec,
  opts: ExperimentOptions,
): Promise<ExperimentResult> {
  const prediction = predict(spec);
  const progress = opts.onProgress ?? (() => undefined);
  const ctx: ExperimentContext = {
    spec,
    runId: opts.runId,
    index: opts.index,
    signal: opts.signal ?? new AbortController().signal,
    teardowns: new Teardowns(),
    timeline: new Timeline(),
    progress,
    made: {},
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
  };
  await runTasks(EXPERIMENT_TASKS, ctx, {
    teardowns: ctx.teardowns,
    signal: ctx.signal,
    onTeardown: () => progress('tearing down'),
  });
  const { made, timeline } = ctx;
  const result = buildResult({
    spec,
    prediction,
    entries: timeline.entries.slice(0, need(made.entriesAtStop, 'stop')),
    counters: need(made.counters, 'counters'),
    targetVersion: need(made.targetVersion, 'target version'),
    clientLibrary: clientOf(spec).library,
    flow: need(made.fault, 'fault').flow,
  });
  // The whole timeline, with what arrived while the processes were stopped.
  return { ...result, timeline: timeline.entries };
}
