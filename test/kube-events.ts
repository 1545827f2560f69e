/**
 * Reading a kube result's Kubernetes events, for the kube-* test files (the same helpers as
 * kube.test.ts exports; importing that file would run its tests too).
 */
import { strict as assert } from 'node:assert';
import type { ExperimentResult } from '../src/runner/experiment.js';

/** The Kubernetes events of a result, as `object name: change` lines. */
export const kubeEvents = (r: ExperimentResult): string[] =>
  (r.kube?.events ?? []).map((e) => `${e.object} ${e.name}: ${e.change}`);

/** The time of the first event matching `re` (ms from T0). */
export function eventAt(r: ExperimentResult, re: RegExp): number {
  const e = r.kube?.events.find((x) => re.test(`${x.object} ${x.name}: ${x.change}`));
  assert.ok(e, `no event ${re} in ${kubeEvents(r).join(' | ')}`);
  return e.at_ms;
}
