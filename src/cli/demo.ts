/**
 * `halfopen demo`: the built-in scenario (scenarios/demo.yaml): the TCP client's strategies, and
 * NATS and MQTT on real brokers at short intervals, against graceful, kill (restarted), node-loss,
 * partition (healed) and reset. Prints the table and writes the HTML report.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readScenario, runScenario, type MatrixFlags } from './matrix.js';

/** Shipped with the package, next to dist/. */
export const DEMO_SCENARIO = fileURLToPath(
  new URL('../../../scenarios/demo.yaml', import.meta.url),
);

export async function demoCommand(flags: MatrixFlags, signal: AbortSignal): Promise<void> {
  const scenario = readScenario(DEMO_SCENARIO);
  await runScenario(scenario, flags, (runId) => join('halfopen-runs', `demo-${runId}`), signal);
}
