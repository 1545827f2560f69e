import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryToJson } from '../events.js';
import { renderResult } from '../report/human.js';
import { runExperiment, type ExperimentResult } from '../runner/experiment.js';
import {
  DEADLINE_BOUNDS,
  WARMUP_BOUNDS,
  FAULTS,
  TARGETS,
  TESTBEDS,
  parseChoice,
  parseQos,
  parseStrategy,
  parseSysctl,
  parseWorkload,
  ownClientOf,
  validateSpec,
  type ExperimentSpec,
} from '../scenario/spec.js';
import { PRESETS } from '../scenario/presets.js';
import { FAULT_PARAMS, flagOf, mergeFields } from '../faults/index.js';
import type { FaultFields } from '../faults/spec.js';
import { DEFAULT_TARGET, PROTOCOLS, type TargetName } from '../protocols/index.js';
import { KUBE_OPTIONS, kubeFromTexts } from '../scenario/kube.js';
import { defaultKube, type KubeSettings } from '../core/kube.js';
import { newRunId } from '../testbeds/netns/names.js';
import { parseDuration } from '../util/duration.js';
import { BadInputError } from '../errors.js';
import { Progress } from './progress.js';
import { clusterOptions, type K8sFlags } from './k8s.js';
import { readTimings, withTimings } from '../testbeds/k8s/plan.js';
import { EXIT, LabError, TeardownError } from '../errors.js';
import { parseExpectations } from '../report/expect.js';
import { judgeCells, missedCells, renderGate, writeJunit } from '../report/gate.js';
import { cellsOf } from '../report/cells.js';
import { checkWritableDir, checkWritableFile } from './out-dir.js';

export interface RunFlags extends K8sFlags {
  testbed: string;
  target?: string;
  strategy?: string;
  workload?: string;
  preset?: string;
  qos?: string;
  fault?: string;
  /** Fault parameters, by their flag in camelCase (`--idle-timeout` is `idleTimeout`). */
  [param: string]: unknown;
  deadline: string;
  warmup: string;
  sysctl: string[];
  out?: string;
  json?: boolean;
  clientCmd?: string;
  detectLog?: string;
  serverCmd?: string;
  expect?: string[];
  junit?: string;
}

/** Flags -> a validated spec. Throws BadInputError before anything is created. */
export function specFromFlags(f: RunFlags): ExperimentSpec {
  if (!f.fault) throw new BadInputError(`--fault is required (one of: ${FAULTS.join(', ')})`);
  let { target: targetText, strategy: strategyText, workload: workloadText } = f;
  if (f.preset !== undefined) {
    const preset = PRESETS[f.preset];
    if (!preset)
      throw new BadInputError(
        `preset '${f.preset}' is unknown (expected one of: ${Object.keys(PRESETS).join(', ')})`,
      );
    const given = (['target', 'strategy', 'workload'] as const).filter((k) => f[k] !== undefined);
    if (given.length > 0)
      throw new BadInputError(
        `--preset ${f.preset} sets --target, --strategy and --workload; do not also give --${given.join(', --')}`,
      );
    ({ target: targetText, strategy: strategyText, workload: workloadText } = preset);
  }
  const target = parseChoice(targetText ?? DEFAULT_TARGET, TARGETS, 'target');
  if (f.detectLog !== undefined && f.clientCmd === undefined)
    throw new BadInputError('--detect-log applies to --client-cmd only (your own client)');
  if (f.clientCmd !== undefined && f.preset !== undefined)
    throw new BadInputError(
      `--preset ${f.preset} describes a built-in client; with --client-cmd, describe yours with --strategy`,
    );
  const own = ownClientOf(f.clientCmd, f.detectLog, f.strategy !== undefined);
  if (own && !own.declared) strategyText = 'none';
  const qos = parseQos(f.qos);
  return validateSpec({
    testbed: parseChoice(f.testbed, TESTBEDS, 'testbed'),
    target,
    ...(own ? { own } : {}),
    ...(f.serverCmd !== undefined ? { ownServer: { command: f.serverCmd } } : {}),
    strategy: parseStrategy(strategyText ?? PROTOCOLS[target].defaultStrategy),
    workload: parseWorkload(workloadText ?? 'idle'),
    fault: parseChoice(f.fault, FAULTS, 'fault'),
    ...faultFieldsFromFlags(f),
    qos,
    deadlineMs: parseDuration(f.deadline, '--deadline', DEADLINE_BOUNDS),
    warmupMs: parseDuration(f.warmup, '--warmup', WARMUP_BOUNDS),
    sysctls: f.sysctl.reduce<Record<string, number>>((acc, s) => parseSysctl(s, acc), {}),
    ...kubeFields(f, target),
  });
}

/** The kube testbed's settings from their flags (each option parses its own text). */
function kubeFields(f: RunFlags, target: TargetName): { kube?: KubeSettings } {
  const texts: Record<string, string | undefined> = {};
  for (const o of KUBE_OPTIONS) {
    const v = f[camelCase(o.key)];
    texts[o.key] = typeof v === 'string' ? v : undefined;
  }
  const kube = kubeFromTexts(texts, target, flagOf);
  if (f.testbed !== 'kube' && f.testbed !== 'k8s') return kube ? { kube } : {};
  return { kube: kube ?? defaultKube(PROTOCOLS[target].target.defaultReplicas) };
}

/** The fault parameters' flags as spec fields; each parameter's definition parses its own. */
function faultFieldsFromFlags(f: RunFlags): FaultFields {
  const fields: FaultFields = { healMs: null, restartMs: null };
  for (const param of FAULT_PARAMS) {
    const texts: Record<string, string | undefined> = {};
    for (const o of param.options) {
      const value = f[camelCase(o.key)];
      texts[o.key] = typeof value === 'string' ? value : value === true ? 'yes' : undefined;
    }
    mergeFields(fields, param.fill(texts, flagOf));
  }
  return fields;
}

/** `idle_timeout` -> `idleTimeout`, as commander names the option `--idle-timeout`. */
export const camelCase = (key: string): string =>
  key.replace(/_(.)/g, (_m, c: string) => c.toUpperCase());

export function writeTimeline(
  dir: string,
  result: ExperimentResult,
  extra: Record<string, unknown> = {},
): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'timeline.jsonl');
  writeFileSync(path, result.timeline.map(entryToJson).join('\n') + '\n');
  const { timeline: _timeline, ...summary } = result;
  writeFileSync(join(dir, 'result.json'), JSON.stringify({ ...summary, ...extra }, null, 2) + '\n');
  return path;
}

export async function runCommand(flags: RunFlags, signal: AbortSignal): Promise<void> {
  const given = specFromFlags(flags);
  const cluster = clusterOptions(flags, 1, given.testbed === 'k8s');
  const spec = flags.timings ? withTimings(given, readTimings(flags.timings)) : given;
  const expectations = parseExpectations(flags.expect ?? [], '--expect');
  const runId = newRunId();
  const dir = flags.out ?? join('halfopen-runs', runId);
  // Results that could not be written would be lost: say so before anything runs.
  checkWritableDir(dir, '--out');
  if (flags.junit !== undefined) checkWritableFile(flags.junit, '--junit');
  const progress = new Progress(flags.json ? false : undefined);
  let result: ExperimentResult;
  let leftovers: string[] = [];
  try {
    if (cluster) {
      const { runOnCluster } = await import('./k8s-run.js');
      const rows = await runOnCluster(
        [spec],
        cluster,
        flags,
        signal,
        {
          onStatus: (s) =>
            progress.update(s.running > 0 ? 'running on the cluster' : 'waiting for the cluster'),
        },
        runId,
      );
      if (rows === null) return; // --dry-run printed the manifests
      leftovers = rows.leftovers;
      const row = rows.rows[0]!;
      if (!row.result) throw new LabError(row.error ?? 'the experiment gave no result');
      result = row.result;
    } else
      result = await runExperiment(spec, { runId, index: 0, signal, onProgress: progress.update });
  } finally {
    progress.clear();
  }
  // The one experiment as a cell: judged, and written as JUnit, as a matrix's cells are.
  const cells = cellsOf([{ index: 0, spec, result }]);
  judgeCells(cells, () => expectations);
  const expect = cells[0]!.expect;
  const timelinePath = writeTimeline(dir, result, expectations.length ? { expect } : {});
  if (flags.junit !== undefined) writeJunit(flags.junit, 'halfopen run', cells);
  const { timeline: _t, ...summary } = result;
  if (flags.json)
    process.stdout.write(
      `${JSON.stringify({ ...summary, ...(expectations.length ? { expect } : {}), timeline_path: timelinePath })}\n`,
    );
  else {
    const gate = renderGate(cells);
    process.stdout.write(`${renderResult(summary, timelinePath)}\n${gate ? `\n${gate}\n` : ''}`);
  }
  if (missedCells(cells).length > 0) process.exitCode = EXIT.missed;
  // The result is written; what the cluster's teardown left is still a failure to report.
  if (leftovers.length > 0) throw new TeardownError(undefined, leftovers);
}
