/**
 * What the lab creates on a real cluster is found by its labels: every object of a run carries
 * `app.kubernetes.io/managed-by: halfopen` and `halfopen.dev/run: <run id>`, an experiment's own
 * objects `halfopen.dev/experiment: <index>` too, and each its `halfopen.dev/component`. Every
 * namespaced object is also owned (ownerReferences) by the run's anchor ConfigMap, so deleting the
 * anchor lets the cluster's garbage collector remove the rest. `cleanup --testbed k8s` deletes by
 * label, and nothing without the labels.
 */

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const RUN_LABEL = 'halfopen.dev/run';
export const EXPERIMENT_LABEL = 'halfopen.dev/experiment';
export const COMPONENT_LABEL = 'halfopen.dev/component';

/** What an object is for, in `halfopen.dev/component`. */
export type Component = 'anchor' | 'access' | 'driver' | 'target' | 'policy' | 'watch';

/** A run on the cluster, as the objects name it. */
export interface RunRef {
  /** The run id (`<pid>-<hex4>`, as local runs): lowercase, digits and `-` only. */
  readonly runId: string;
  /** The Kubernetes namespace everything of the run lives in. */
  readonly namespace: string;
  /** The anchor ConfigMap's uid, once it exists: every namespaced object is owned by it. */
  readonly anchorUid?: string;
}

/** The run's shared objects: the anchor ConfigMap, the Job, the ServiceAccount and its Role. */
export const runName = (runId: string): string => `halfopen-${runId}`;

/**
 * One experiment's objects: its StatefulSet and ClusterIP Service (pods `<name>-0`, ...), and
 * `<name>-pods` for the headless Service. Kept short: a StatefulSet's name must leave room for
 * its pods' `controller-revision-hash` label (at most 52 characters).
 */
export const experimentName = (runId: string, index: number): string => `ho-${runId}-${index}`;

/** The headless Service that gives each replica a stable DNS name (`<pod>.<headless>`). */
export const headlessName = (runId: string, index: number): string =>
  `${experimentName(runId, index)}-pods`;

/** The labels every object of the run carries. */
export function runLabels(
  runId: string,
  component: Component,
  index?: number,
): Record<string, string> {
  return {
    [MANAGED_BY]: 'halfopen',
    [RUN_LABEL]: runId,
    [COMPONENT_LABEL]: component,
    ...(index !== undefined ? { [EXPERIMENT_LABEL]: String(index) } : {}),
  };
}

/**
 * A label selector for everything of one run, or (no run id) of every halfopen run. Without a run
 * id it still asks for the run label (`key` alone: it exists): the `halfopen-user` Role a user
 * applies once carries only managed-by, and no cleanup may take it away.
 */
export const runSelector = (runId?: string): string =>
  runId === undefined
    ? `${MANAGED_BY}=halfopen,${RUN_LABEL}`
    : `${MANAGED_BY}=halfopen,${RUN_LABEL}=${runId}`;

/**
 * The pods of one experiment's target, as its Services, StatefulSet and NetworkPolicy all select
 * them: the labels that say which pods they are (of runLabels(runId, 'target', index)), one
 * selector everywhere, so the deny-all policy cuts exactly the pods the Services send to. A
 * StatefulSet's selector cannot change once created: it holds nothing that might.
 */
export function targetSelector(runId: string, index: number): Record<string, string> {
  return {
    [RUN_LABEL]: runId,
    [EXPERIMENT_LABEL]: String(index),
    [COMPONENT_LABEL]: 'target',
  };
}

/** Where the experiments of a run are mounted in the lab's pods (the anchor ConfigMap's key). */
export const EXPERIMENTS_DIR = '/etc/halfopen';
export const EXPERIMENTS_KEY = 'experiments.json';
