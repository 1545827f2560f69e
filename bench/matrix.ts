/**
 * `npm run bench:matrix`: one matrix run serially (--parallel 1) and in parallel (the default),
 * in one process, and the wall-time ratio. The matrix is the TCP client's four strategies against
 * kill, a partition healed at 3 s, and reset: twelve experiments that mostly wait on timers.
 */
import { availableParallelism } from 'node:os';
import { defaultParallel } from '../src/cli/matrix.js';
import { runMatrix } from '../src/runner/matrix.js';
import { parseScenario } from '../src/scenario/file.js';
import { newRunId } from '../src/testbeds/netns/names.js';
import { netnsPreflight } from '../src/testbeds/netns/preflight.js';
import { exitCodeFor } from '../src/errors.js';

const SCENARIO = `
name: bench
clients:
  - target: tcp
    strategies:
      - none
      - keepalive:idle=2s,interval=1s,count=3
      - user-timeout:3s
      - heartbeat:interval=1s,timeout=2s
workloads: [publish:10]
faults: [kill, { fault: partition, heal: 3s }, reset]
deadline: 5s
`;

async function timed(parallel: number): Promise<{ wallS: number; failed: number; n: number }> {
  const { specs } = parseScenario(SCENARIO, 'bench');
  const start = performance.now();
  const rows = await runMatrix(specs, { parallel, runId: newRunId() });
  return {
    wallS: (performance.now() - start) / 1000,
    failed: rows.filter((r) => r.error !== undefined).length,
    n: rows.length,
  };
}

try {
  await netnsPreflight();
  const parallel = defaultParallel();
  process.stdout.write(`bench:matrix on ${availableParallelism()} cores\n`);
  const serial = await timed(1);
  process.stdout.write(
    `  serial    (--parallel 1): ${serial.n} experiments in ${serial.wallS.toFixed(1)} s\n`,
  );
  const par = await timed(parallel);
  process.stdout.write(
    `  parallel  (--parallel ${parallel}): ${par.n} experiments in ${par.wallS.toFixed(1)} s\n`,
  );
  process.stdout.write(`  speed-up: ${(serial.wallS / par.wallS).toFixed(2)}x\n`);
  if (serial.failed + par.failed > 0)
    process.stdout.write(`  (${serial.failed + par.failed} experiments failed)\n`);
} catch (err) {
  process.stderr.write(`bench:matrix: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = exitCodeFor(err);
}
