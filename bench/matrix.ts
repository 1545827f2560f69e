/**
 * `npm run bench:matrix`: the demo (scenarios/demo.yaml, 45 experiments) run one at a time
 * (--parallel 1) and then at the machine's default, in one process: the wall times, their ratio,
 * what one experiment costs in CPU, and whether every cell's verdict is the same both ways (the
 * cells that differ, if any). Takes about 5 minutes: the serial run alone is 4 to 5 of them.
 * Needs root (network namespaces) and the brokers (`npm run setup`).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, loadavg } from 'node:os';
import { DEMO_SCENARIO } from '../src/cli/demo.js';
import { readScenario } from '../src/cli/matrix.js';
import { exitCodeFor } from '../src/errors.js';
import { PROTOCOLS } from '../src/protocols/index.js';
import { cellsOf, verdictText } from '../src/report/cells.js';
import { runMatrix } from '../src/runner/matrix.js';
import { ConcurrencyLimit, defaultParallel, describeLimit } from '../src/runner/parallelism.js';
import { newRunId } from '../src/testbeds/netns/names.js';
import { brokerPreflight, netnsPreflight } from '../src/testbeds/netns/preflight.js';

/** The demo on 2 cores must take less than this at the default. */
const TARGET_S = 30;

/** CPU seconds of this process and every child it has reaped (/proc/self/stat, in ticks of 10 ms). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime: fields 14-17 of stat(5); here 0-based after the comm field.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
}

interface Run {
  wallS: number;
  cpuS: number;
  verdicts: Map<string, string>;
  failed: number;
  n: number;
  limit: ConcurrencyLimit;
}

async function timed(parallel: number): Promise<Run> {
  const { specs } = readScenario(DEMO_SCENARIO);
  const limit = new ConcurrencyLimit(parallel);
  const cpu = cpuSeconds();
  const start = performance.now();
  const rows = await runMatrix(specs, { parallel, runId: newRunId(), limit });
  const wallS = (performance.now() - start) / 1000;
  const cells = cellsOf(rows);
  return {
    wallS,
    cpuS: cpuSeconds() - cpu,
    verdicts: new Map(cells.map((c) => [`${c.faultLabel} / ${c.client}`, verdictText(c)])),
    failed: rows.filter((r) => r.error !== undefined).length,
    n: rows.length,
    limit,
  };
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const line = (text: string): boolean => process.stdout.write(`${text}\n`);

function report(label: string, r: Run): void {
  line(
    `  ${label}: ${r.n} experiments in ${r.wallS.toFixed(1)} s, ${r.cpuS.toFixed(1)} CPU-s (${(r.cpuS / r.n).toFixed(2)} per experiment)${r.failed ? `, ${r.failed} failed` : ''}`,
  );
  for (const l of describeLimit(r.limit)) line(`    ${l}`);
}

try {
  await netnsPreflight();
  const { specs } = readScenario(DEMO_SCENARIO);
  for (const broker of new Set(specs.flatMap((s) => PROTOCOLS[s.target].target.broker ?? [])))
    await brokerPreflight(broker);
  const parallel = defaultParallel();
  const cores = availableParallelism();
  line(
    `bench:matrix: the demo (${specs.length} experiments) on ${cores} cores, ${(freemem() / 2 ** 30).toFixed(1)} GB free, load ${load()}`,
  );
  const serial = await timed(1);
  report('serial   (--parallel 1)', serial);
  const par = await timed(parallel);
  report(`default  (--parallel ${parallel})`, par);
  line(`  speed-up: ${(serial.wallS / par.wallS).toFixed(2)}x; load at the end ${load()}`);
  const differ = [...serial.verdicts].filter(([key, v]) => par.verdicts.get(key) !== v);
  if (differ.length === 0) line(`  verdicts: all ${serial.verdicts.size} cells the same both ways`);
  else {
    line(`  verdicts: ${differ.length} of ${serial.verdicts.size} cells differ:`);
    for (const [key, v] of differ)
      line(`    ${key}: serial ${v}, default ${par.verdicts.get(key)}`);
  }
  line(
    `demo in ${par.wallS.toFixed(1)} s (target < ${TARGET_S} s on 2 cores${cores === 2 ? `: ${par.wallS < TARGET_S ? 'met' : 'missed'}` : `; this machine has ${cores}`})`,
  );
} catch (err) {
  process.stderr.write(`bench:matrix: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = exitCodeFor(err);
}
