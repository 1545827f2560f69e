/**
 * The window [min, max] (ms after the fault's T0) in which a strategy's formula says the client
 * notices the fault, or null when the formula says it never does, and the verdict on a
 * measurement. Pure: used by the runner to judge each measurement and by the CLI to explain it.
 * Each fault's formula is in its definition (src/faults/); the facts behind them, with their
 * sources, are in docs/facts.md.
 */
import { FAULT_DEFS } from '../faults/index.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import { allowanceMs, type LabSlack, type Prediction, type Window } from '../core/window.js';

export type { Prediction, Window } from '../core/window.js';
export { allowanceMs, toleranceMs, type LabSlack } from '../core/window.js';
export { IMMEDIATE_MS, REUSE_ALLOWANCE_MS } from '../faults/paths.js';

export function predict(spec: ExperimentSpec): Prediction {
  if (spec.own && !spec.own.declared)
    return {
      window: null,
      unknown: true,
      why: "your program's own settings are not known: describe them with --strategy (e.g. user-timeout:3s) for a predicted window",
    };
  const def = FAULT_DEFS[spec.fault];
  // A testbed that makes the fault its own way may predict it its own way.
  return def.testbeds[spec.testbed]?.predict?.(spec) ?? def.predict(spec);
}

/** Every verdict a result can have. */
export const VERDICTS = [
  'measured (no prediction)',
  'inside',
  'beyond deadline',
  'early',
  'late',
  'not detected',
  'not detected (as predicted)',
  'detected (predicted never)',
  /** Messages still crossed the path after the fault had had time to act (k8s: a CNI that judges
   * only new connections under a NetworkPolicy): nothing was cut, so nothing was there to detect. */
  'fault not in force',
] as const;

export type Verdict = (typeof VERDICTS)[number];

/**
 * `deadlineMs`: when the window opens only after the deadline, not detecting is what the formula
 * says too ('beyond deadline'), not a miss.
 */
export function verdict(
  detectMs: number | null,
  window: Window | null,
  deadlineMs = Infinity,
  unknown = false,
  lab?: LabSlack,
): Verdict {
  if (unknown) return 'measured (no prediction)';
  if (window === null)
    return detectMs === null ? 'not detected (as predicted)' : 'detected (predicted never)';
  if (detectMs === null) return window[0] > deadlineMs ? 'beyond deadline' : 'not detected';
  const [early, late] = allowanceMs(window, lab);
  if (detectMs < window[0] - early) return 'early';
  if (detectMs > window[1] + late) return 'late';
  return 'inside';
}
