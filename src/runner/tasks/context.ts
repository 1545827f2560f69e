/**
 * What the experiment's tasks share: the spec, the run's signal, teardown stack and timeline, and
 * what earlier tasks made for later ones.
 */
import { InterruptedError, LabError } from '../../errors.js';
import type { ExperimentSpec } from '../../scenario/spec.js';
import type { TargetDef } from '../../protocols/index.js';
import type { LabProcess } from '../../core/process.js';
import type { BoundFault, Testbed } from '../../testbeds/types.js';
import type { ClusterRun } from '../../testbeds/k8s/testbed.js';
import type { Teardowns } from '../../util/teardown.js';
import type { Timeline } from '../timeline.js';

/** Waits for readiness events (the target listening, the client connected, the sink ready). */
export const READY_TIMEOUT_MS = 10_000;

/** The heal or restart scheduled from T0, while it is pending. */
export interface PathReturn {
  /** Set once it failed (not when it was cut short by the run's end). */
  failure(): Error | undefined;
  /** Stops it at its next step and waits for it; idempotent. */
  stop(): Promise<void>;
}

export interface Made {
  /** The target to start (a broker binary, or its embedded stand-in) and its version. */
  targetDef?: TargetDef;
  targetVersion?: string;
  bed?: Testbed;
  /** The running target; a restart replaces it. */
  target?: LabProcess;
  sink?: LabProcess;
  client?: LabProcess;
  fault?: BoundFault;
  /** The fault's start mark (T0). */
  t0?: bigint;
  pathReturn?: PathReturn;
  /** What the testbed counted on the wire, read before the processes were stopped. */
  counters?: Record<string, number>;
  /** Timeline entries up to the stop: the result is computed from these. */
  entriesAtStop?: number;
}

export interface ExperimentContext {
  readonly spec: ExperimentSpec;
  readonly runId: string;
  readonly index: number;
  /** The run's abort signal (one that never fires when the caller gave none). */
  readonly signal: AbortSignal;
  readonly teardowns: Teardowns;
  readonly timeline: Timeline;
  readonly progress: (status: string) => void;
  readonly made: Made;
  /** On the k8s testbed: the cluster the driver runs in, and the run's image and anchor. */
  readonly cluster?: ClusterRun;
}

/** What an earlier task made; a task run out of order is a bug in the task list. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new LabError(`internal: no ${what} yet`);
  return value;
}

/** Throws the interruption once `signal` (the run's, or a narrower one) has fired. */
export function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError();
}
