/**
 * `halfopen demo`: the built-in scenario (scenarios/demo.yaml): the TCP client's strategies, and
 * NATS, MQTT, WebSocket, gRPC and HTTP/2 at short intervals, against graceful, kill (restarted),
 * node-loss, partition (healed) and reset. Prints the table and writes the HTML report. With
 * `--testbed proxy` (no root) the same matrix on loopback, without the faults that need a kernel
 * path of their own.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_DEFS } from '../faults/index.js';
import type { Scenario } from '../scenario/file.js';
import { validateSpec } from '../scenario/spec.js';
import { readScenario, runScenario, type MatrixFlags } from './matrix.js';

/** Shipped with the package, next to dist/. */
export const DEMO_SCENARIO = fileURLToPath(
  new URL('../../../scenarios/demo.yaml', import.meta.url),
);

/** The scenario on another testbed: each experiment whose fault that testbed has, moved there. */
export function onTestbed(scenario: Scenario, testbed: 'netns' | 'proxy'): Scenario {
  const keep = scenario.specs.flatMap((spec, i) =>
    FAULT_DEFS[spec.fault].testbeds[testbed] === undefined ? [] : [i],
  );
  return {
    name: testbed === 'netns' ? scenario.name : `${scenario.name} (${testbed} testbed)`,
    specs: keep.map((i) => validateSpec({ ...scenario.specs[i]!, testbed })),
    expect: keep.map((i) => scenario.expect[i]!),
  };
}

export async function demoCommand(
  flags: MatrixFlags & { testbed?: 'netns' | 'proxy' },
  signal: AbortSignal,
): Promise<void> {
  const scenario = onTestbed(readScenario(DEMO_SCENARIO), flags.testbed ?? 'netns');
  await runScenario(scenario, flags, (runId) => join('halfopen-runs', `demo-${runId}`), signal);
}
