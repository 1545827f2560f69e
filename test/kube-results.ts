/**
 * Reading a kube result, for the kube tests (kept out of the test files: importing a test file
 * runs its tests too).
 */
import { strict as assert } from 'node:assert';
import type { ExperimentResult } from '../src/runner/experiment.js';
import { describeResult } from './helpers.js';

/** The Kubernetes events of a result, as `object name: change` lines. */
export const kubeEvents = (r: ExperimentResult): string[] =>
  (r.kube?.events ?? []).map((e) => `${e.object} ${e.name}: ${e.change}`);

/** The time of the first event matching `re` (ms from T0). */
export function eventAt(r: ExperimentResult, re: RegExp): number {
  const e = r.kube?.events.find((x) => re.test(`${x.object} ${x.name}: ${x.change}`));
  assert.ok(e, `no event ${re} in ${kubeEvents(r).join(' | ')}`);
  return e.at_ms;
}

/** Messages the far side (the tcp target, a broker's sink) received after T0. */
export function receivedAfterT0(r: ExperimentResult): number {
  const t0 = r.timeline.find((e) => e.src === 'lab' && e.type === 'fault')!.t;
  return r.timeline.filter((e) => e.src !== 'client' && e.type === 'recv' && e.t > t0).length;
}

/** A failed assertion's story: the measurement, the counters and the Kubernetes events. */
export const why = (r: ExperimentResult): string =>
  `${describeResult(r)}; wire ${JSON.stringify(r.wire)}; ${kubeEvents(r).join(' | ')}`;
