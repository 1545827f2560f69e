/**
 * A run on a real cluster, as plain data: the experiments (mounted into every pod of the run from
 * the anchor ConfigMap), the options that say which cluster and image, and what one experiment's
 * target looks like as Kubernetes objects.
 */
import { readFileSync } from 'node:fs';
import { BadInputError } from '../../errors.js';
import { scaledDelay } from '../../core/kube.js';
import { PROTOCOLS } from '../../protocols/index.js';
import { validateSpec, type ExperimentSpec } from '../../scenario/spec.js';
import { kubeOf } from '../../runner/spec-questions.js';
import { experimentName, headlessName } from './names.js';
import type { PullPolicy, TargetPlan } from './manifests.js';

/** Which cluster: the kubeconfig's current context unless told. */
export interface ClusterChoice {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** How a run on the cluster is made, beyond its experiments. */
export interface K8sRunOptions extends ClusterChoice {
  /** The lab's image (the repository's Dockerfile, built and pushed by the user). */
  image: string;
  imagePullPolicy?: PullPolicy;
  /** Bind the opt-in ClusterRole (nodes: get, list, patch) to the run's ServiceAccount. */
  nodeAccess: boolean;
  /** Experiments at once (the Indexed Job's parallelism). */
  parallel: number;
}

/** The image a run uses unless `--image` names another: the Dockerfile's, built locally. */
export const DEFAULT_IMAGE = 'halfopen:0.1.0';

/** What every pod of a run reads from the anchor ConfigMap. */
export interface ExperimentsDoc {
  version: 1;
  runId: string;
  image: string;
  experiments: ExperimentSpec[];
}

export function experimentsJson(doc: ExperimentsDoc): string {
  return `${JSON.stringify(doc)}\n`;
}

/** The document at `file`, each experiment checked as the CLI checks it. */
export function loadExperiments(file: string): ExperimentsDoc {
  let doc: ExperimentsDoc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as ExperimentsDoc;
  } catch (err) {
    throw new BadInputError(`cannot read the experiments file ${file}: ${(err as Error).message}`);
  }
  if (doc.version !== 1 || !Array.isArray(doc.experiments) || typeof doc.runId !== 'string')
    throw new BadInputError(`${file} is not a halfopen experiments file (version 1)`);
  return { ...doc, experiments: doc.experiments.map((s) => validateSpec(s)) };
}

/** The experiment at `index` (from `--index`, or JOB_COMPLETION_INDEX in an Indexed Job). */
export function experimentAt(doc: ExperimentsDoc, indexText: string | undefined): number {
  if (indexText === undefined)
    throw new BadInputError('no experiment index: give --index or set JOB_COMPLETION_INDEX');
  const index = Number(indexText);
  if (!/^\d+$/.test(indexText) || index >= doc.experiments.length)
    throw new BadInputError(
      `experiment index '${indexText}' is out of range (the file has ${doc.experiments.length})`,
    );
  return index;
}

export function targetPlan(spec: ExperimentSpec, image: string, pull?: PullPolicy): TargetPlan {
  const settings = kubeOf(spec);
  return {
    target: spec.target,
    port: PROTOCOLS[spec.target].target.port,
    replicas: settings.replicas,
    sink: PROTOCOLS[spec.target].sink !== null,
    image,
    ...(pull ? { imagePullPolicy: pull } : {}),
    // Whole seconds, as the pod spec takes them; the time-scale is 1 on a real cluster.
    gracePeriodSeconds: Math.round(scaledDelay(settings, 'grace_period') / 1000),
    preStopSeconds: Math.round(scaledDelay(settings, 'prestop') / 1000),
  };
}

/** A replica's stable DNS name through the headless Service (`<pod>.<headless>`). */
export function replicaHost(runId: string, index: number, replica: number): string {
  return `${experimentName(runId, index)}-${replica}.${headlessName(runId, index)}`;
}

/** The ports the lab's wrapper in a target pod listens on for the driver's steering. */
export const CONTROL_PORTS = { target: 19901, sink: 19902 } as const;
export type PodRole = keyof typeof CONTROL_PORTS;

/** What `k8s probe --json` measured that a prediction uses, by the kube delay it sets. */
export interface ClusterTimings {
  endpoint_lag_ms: number | null;
  node_grace_s: number | null;
  eviction_s: number | null;
}

/** Reads `k8s probe --json`'s output (`--timings <file>`). */
export function readTimings(file: string): ClusterTimings {
  let t: Partial<ClusterTimings>;
  try {
    t = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClusterTimings>;
  } catch (err) {
    throw new BadInputError(`cannot read --timings ${file}: ${(err as Error).message}`);
  }
  const num = (v: unknown): number | null => (typeof v === 'number' && v >= 0 ? v : null);
  const timings = {
    endpoint_lag_ms: num(t.endpoint_lag_ms),
    node_grace_s: num(t.node_grace_s),
    eviction_s: num(t.eviction_s),
  };
  if (Object.values(timings).every((v) => v === null))
    throw new BadInputError(
      `--timings ${file} has none of a probe's timings (halfopen k8s probe --json)`,
    );
  return timings;
}

/**
 * The spec with the cluster's measured timings as its delays, where the spec does not set them
 * itself (a flag or a scenario's `kube:` given wins).
 */
export function withTimings(spec: ExperimentSpec, t: ClusterTimings): ExperimentSpec {
  const kube = kubeOf(spec);
  const measured = {
    ...(t.endpoint_lag_ms !== null ? { endpoint_lag: Math.round(t.endpoint_lag_ms) } : {}),
    ...(t.node_grace_s !== null ? { node_grace: t.node_grace_s * 1000 } : {}),
    ...(t.eviction_s !== null ? { eviction: t.eviction_s * 1000 } : {}),
  };
  return { ...spec, kube: { ...kube, delays: { ...measured, ...kube.delays } } };
}
