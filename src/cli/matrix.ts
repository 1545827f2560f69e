/**
 * `halfopen matrix <file>`: every experiment a scenario file describes, a few at a time, into an
 * output directory (timelines, summary.json, report.html), with the table on stdout.
 * `halfopen demo` is this command on the built-in scenario.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, release } from 'node:os';
import { join, relative } from 'node:path';
import { BadInputError, EXIT, TeardownError } from '../errors.js';
import { mergeExpectations, parseExpectations } from '../report/expect.js';
import { judgeCells, renderGate, writeJunit } from '../report/gate.js';
import { checkWritableDir, checkWritableFile } from './out-dir.js';
import { cellsOf } from '../report/cells.js';
import { renderHtml } from '../report/html.js';
import { buildSummary } from '../report/summary.js';
import { renderTable } from '../report/table.js';
import { runMatrix, type MatrixRow, type MatrixStatus } from '../runner/matrix.js';
import { ConcurrencyLimit, defaultParallel, describeLimit } from '../runner/parallelism.js';
import { parseScenario, type Scenario } from '../scenario/file.js';
import { PROTOCOLS } from '../protocols/index.js';
import { newRunId } from '../testbeds/netns/names.js';
import { brokerPreflight, netnsPreflight } from '../testbeds/netns/preflight.js';
import { Progress } from './progress.js';
import { writeTimeline } from './run.js';
import { clusterOptions, type K8sFlags } from './k8s.js';
import { readTimings, withTimings } from '../testbeds/k8s/plan.js';

export { defaultParallel };

export interface MatrixFlags extends K8sFlags {
  parallel?: string;
  out?: string;
  json?: boolean;
  /** Clauses for every cell; each replaces the scenario's on the same measurement. */
  expect?: string[];
  junit?: string;
}

/** The Job's parallelism on a real cluster when --parallel is not given. */
export const CLUSTER_PARALLEL = 4;

export function parseParallel(text: string | undefined): number {
  if (text === undefined) return defaultParallel();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 64)
    throw new BadInputError(`--parallel '${text}' must be an integer from 1 to 64`);
  return n;
}

/**
 * How many experiments at once: `--parallel`, or the default. On a real cluster the experiments
 * run in the cluster's pods, not on this machine: its cores say nothing about how many drivers
 * the cluster should run at once.
 */
export function scenarioParallel(testbeds: ReadonlySet<string>, text: string | undefined): number {
  return testbeds.has('k8s') && text === undefined ? CLUSTER_PARALLEL : parseParallel(text);
}

export function readScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new BadInputError(`cannot read scenario file ${file} (${code})`);
  }
  return parseScenario(text, file);
}

/** A directory name per experiment that says what it was: `007-nats-partition`. */
const dirName = (row: MatrixRow): string =>
  `${String(row.index).padStart(3, '0')}-${row.spec.target}-${row.spec.fault}`;

export async function runScenario(
  scenario: Omit<Scenario, 'expect'> & Partial<Pick<Scenario, 'expect'>>,
  flags: MatrixFlags,
  outDefault: (runId: string) => string,
  signal: AbortSignal,
): Promise<void> {
  const testbeds = new Set(scenario.specs.map((s) => s.testbed));
  const parallel = scenarioParallel(testbeds, flags.parallel);
  if (testbeds.has('k8s') && testbeds.size > 1)
    throw new BadInputError(
      `a matrix runs on a real cluster or on this machine, not both (testbeds: ${[...testbeds].join(', ')})`,
    );
  const cluster = clusterOptions(flags, parallel, testbeds.has('k8s'));
  const given = parseExpectations(flags.expect ?? [], '--expect');
  if (flags.timings) {
    const timings = readTimings(flags.timings);
    scenario = { ...scenario, specs: scenario.specs.map((s) => withTimings(s, timings)) };
  }
  // A machine that cannot host the testbed or lacks a broker fails in one line, before anything.
  for (const testbed of testbeds)
    if (testbed === 'netns' || testbed === 'kube') await netnsPreflight(testbed);
  // A missing broker binary is fatal only where no embedded broker stands in (netns, or no
  // embedded broker for that protocol). On a cluster the image has them.
  for (const spec of cluster ? [] : scenario.specs) {
    const def = PROTOCOLS[spec.target].target;
    if (def.broker && (spec.testbed !== 'proxy' || !def.embedded))
      await brokerPreflight(def.broker);
  }
  const runId = newRunId();
  const outDir = flags.out ?? outDefault(runId);
  // Results that could not be written would be lost: say so before anything runs.
  checkWritableDir(outDir, '--out');
  if (flags.junit !== undefined) checkWritableFile(flags.junit, '--junit');
  const progress = new Progress(flags.json ? false : undefined);
  const startedAt = new Date();
  const timelines = new Map<number, string>();
  // Lowered while experiments report their timers late (runner/parallelism.ts); not on a cluster,
  // where the Job's parallelism is fixed when it is created.
  const limit = new ConcurrencyLimit(parallel);
  let rows: MatrixRow[];
  let leftovers: string[] = [];
  const hooks = {
    onStatus: (s: MatrixStatus) =>
      progress.update(
        `${scenario.name}: ${s.done}/${s.total} done, ${s.running} running, ${s.failed} failed, ${s.limit} at a time${s.limit === parallel ? '' : ` (of ${parallel}: timers ran late)`}${s.etaS === null ? '' : `, about ${s.etaS} s left`}`,
      ),
    onRow: (row: MatrixRow) => {
      if (row.result)
        timelines.set(row.index, writeTimeline(join(outDir, dirName(row)), row.result));
    },
  };
  try {
    if (cluster) {
      const { runOnCluster } = await import('./k8s-run.js');
      const got = await runOnCluster(scenario.specs, cluster, flags, signal, hooks, runId);
      if (got === null) return; // --dry-run printed the manifests
      ({ rows, leftovers } = got);
    } else rows = await runMatrix(scenario.specs, { parallel, runId, signal, limit, ...hooks });
  } finally {
    progress.clear();
  }
  const wallS = (Date.now() - startedAt.getTime()) / 1000;
  const cells = cellsOf(rows);
  judgeCells(cells, (i) => mergeExpectations(scenario.expect?.[i] ?? [], given));
  const host = `${hostname()}, Linux ${release()}, ${availableParallelism()} cores`;
  const summary = buildSummary(
    {
      title: scenario.name,
      run_id: runId,
      started_at: startedAt.toISOString(),
      wall_s: Math.round(wallS * 10) / 10,
      parallel,
      parallel_lowest: limit.lowest,
      parallel_changes: limit.changes.map((c) => ({
        done: c.done,
        from: c.from,
        to: c.to,
        lateness_ms: c.latenessMs,
      })),
      host,
    },
    cells,
    rows,
    (row) => join(outDir, dirName(row)),
  );
  const summaryPath = join(outDir, 'summary.json');
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  const reportPath = join(outDir, 'report.html');
  writeFileSync(
    reportPath,
    renderHtml({
      title: scenario.name,
      cells,
      experiments: rows.flatMap((row) =>
        row.result
          ? [
              {
                index: row.index,
                result: row.result,
                timelinePath: relative(outDir, timelines.get(row.index) ?? ''),
              },
            ]
          : [],
      ),
      wallS,
      parallel,
      parallelLowest: limit.lowest,
      generatedAt: startedAt.toISOString(),
      host,
    }),
  );
  if (flags.junit !== undefined) writeJunit(flags.junit, scenario.name, cells);
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ summary: summaryPath, report: reportPath, ...(flags.junit === undefined ? {} : { junit: flags.junit }), wall_s: summary.wall_s, parallel, parallel_lowest: limit.lowest, parallel_changes: summary.parallel_changes, expect_missed: summary.expect_missed, cells: summary.cells })}\n`,
    );
  } else {
    const failed = rows.filter((r) => r.error !== undefined).length;
    const gate = renderGate(cells);
    process.stdout.write(
      `${renderTable(cells)}\n\n${gate ? `${gate}\n\n` : ''}${rows.length} experiments in ${wallS.toFixed(1)} s (${parallel} at a time${limit.lowest < parallel ? `, lowered to ${limit.lowest}` : ''})${failed ? `, ${failed} failed` : ''}\n${describeLimit(
        limit,
      )
        .map((line) => `${line}\n`)
        .join(
          '',
        )}report   ${reportPath}\nsummary  ${summaryPath}\n${flags.junit === undefined ? '' : `junit    ${flags.junit}\n`}`,
    );
  }
  if (summary.expect_missed > 0) process.exitCode = EXIT.missed;
  // The results are written; what the cluster's teardown left is still a failure to report.
  if (leftovers.length > 0) throw new TeardownError(undefined, leftovers);
}

export async function matrixCommand(
  file: string,
  flags: MatrixFlags,
  signal: AbortSignal,
): Promise<void> {
  const scenario = readScenario(file);
  parseParallel(flags.parallel);
  await runScenario(scenario, flags, (runId) => join('halfopen-runs', `matrix-${runId}`), signal);
}
