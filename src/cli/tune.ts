/**
 * `halfopen tune`: the settings each of the target's strategies needs to notice a silent peer
 * within a target time without calling a slow but healthy one dead, and, with `--verify`, the
 * lab's measurement of each: a partition it must notice in time, and a slow path (the fault
 * proxy's latency) it must ride out.
 */
import { availableParallelism } from 'node:os';
import { tune, tuneSpec, type Recommendation, type TuneRequest } from '../advise/tune.js';
import { allowanceMs } from '../advise/predict.js';
import { DEFAULT_TARGET, PROTOCOLS } from '../protocols/index.js';
import { isKernelOnly } from '../strategies/index.js';
import { verifyExitCode, type Verification } from './tune-verdict.js';

export { verifyExitCode, type Verification };
import {
  BadInputError,
  EXIT,
  InterruptedError,
  LabUnavailableError,
  TeardownError,
} from '../errors.js';
import { formatMs, parseDuration } from '../util/duration.js';
import { formatWindow } from '../report/human.js';
import { runExperiment, type ExperimentResult } from '../runner/experiment.js';
import { AbortFanOut } from '../util/abort.js';
import {
  TARGETS,
  formatStrategy,
  parseQos,
  parseStrategy,
  formatWorkload,
  parseChoice,
  parseWorkload,
  strategyKindsFor,
  validateSpec,
  type ExperimentSpec,
} from '../scenario/spec.js';
import { newRunId } from '../testbeds/netns/names.js';
import { Progress } from './progress.js';
import { clusterOptions, type K8sFlags } from './k8s.js';
import { checkEmit, emitted, renderEmitted } from '../emit/render.js';
import { emitterFor } from '../emit/index.js';
import type { K8sRunOptions } from '../testbeds/k8s/plan.js';

export interface TuneFlags extends K8sFlags {
  target: string;
  within?: string;
  tolerate: string;
  idleTimeout?: string;
  workload: string;
  qos?: string;
  verify?: boolean;
  testbed?: string;
  json?: boolean;
  /** Print the chosen settings as this library's code (src/emit). */
  emit?: string;
}

export function requestFromFlags(f: TuneFlags): TuneRequest {
  const target = parseChoice(f.target, TARGETS, 'target');
  if (f.within === undefined)
    throw new BadInputError(
      '--within is required: how soon a silent peer must be noticed, e.g. 10s',
    );
  const withinMs = parseDuration(f.within, '--within');
  const tolerateMs = parseDuration(f.tolerate, '--tolerate');
  // Up to 16 h: a partition checked for 1.5 x --within stays within a run's 24 h deadline.
  if (withinMs < 500 || withinMs > 16 * 3_600_000)
    throw new BadInputError(`--within ${f.within} must be from 500ms to 16h`);
  if (tolerateMs < 1) throw new BadInputError(`--tolerate ${f.tolerate} must be at least 1ms`);
  if (tolerateMs >= withinMs)
    throw new BadInputError(`--tolerate ${f.tolerate} must be shorter than --within ${f.within}`);
  const idleTimeoutMs =
    f.idleTimeout === undefined ? null : parseDuration(f.idleTimeout, '--idle-timeout');
  if (idleTimeoutMs !== null && idleTimeoutMs < 1000)
    throw new BadInputError(`--idle-timeout ${f.idleTimeout} must be at least 1s`);
  const workload = parseWorkload(f.workload);
  const qos = parseQos(f.qos);
  // The same rules as a run of this client (a tcp server that only receives, say).
  const strategy = parseStrategy(PROTOCOLS[target].defaultStrategy);
  validateSpec(tuneSpec({ target, workload, qos }, strategy, 'partition', 'netns', 10_000));
  return { target, workload, qos, withinMs, tolerateMs, idleTimeoutMs };
}

/**
 * The slow path a recommendation must ride out: 0.4 x tolerate each way, so every answer comes
 * 0.8 x tolerate late, close to what it promises to tolerate, leaving 0.2 x for the machine.
 */
export function slowPath(req: TuneRequest): { ms: number; jitterMs: number } {
  return { ms: Math.round(req.tolerateMs * 0.4), jitterMs: 0 };
}

/** Experiments measured at once: two per core, as a matrix runs them, and at least two. */
const VERIFY_PARALLEL = Math.max(2, 2 * availableParallelism());

/**
 * The silent path each testbed checks a setting against: a partition, on kube the node of the
 * client's pod lost (the Service keeps steering to it until NotReady), and on a real cluster a
 * deny-all NetworkPolicy (no API call loses a node; a CNI that leaves open connections alone
 * gives 'fault not in force', and the setting cannot be checked there).
 */
const SILENT_FAULT = {
  netns: 'partition',
  proxy: 'partition',
  kube: 'node-loss',
  k8s: 'network-policy',
} as const;
type SilentBed = keyof typeof SILENT_FAULT;

/** Long enough for several probes to cross the slow path (3 periods, 5 s to 60 s). */
const slowPathFor = (r: Recommendation): number =>
  Math.min(60_000, Math.max(5000, 3 * (r.probeEveryMs ?? 0), 3 * (r.toleratesMs ?? 0)));

async function verify(
  req: TuneRequest,
  recs: Recommendation[],
  partitionBed: SilentBed,
  signal: AbortSignal,
  progress: (s: string) => void,
  cluster: K8sRunOptions | null,
): Promise<(Verification | null)[]> {
  const root = process.getuid?.() === 0;
  if ((partitionBed === 'netns' || partitionBed === 'kube') && !root)
    throw new LabUnavailableError(
      `--verify runs its ${SILENT_FAULT[partitionBed]} on the ${partitionBed} testbed, which needs root; without root use --testbed proxy (settings of the kernel's own timers are then not measured)`,
    );
  const runId = newRunId();
  const specs: ExperimentSpec[] = [];
  const plan = recs.map((r) => {
    if (!r.strategy) return null;
    // The kernel's own timers cannot be checked through the proxy: its kernel answers them.
    const kernelOnly = isKernelOnly(r.strategy);
    const bed = kernelOnly && partitionBed === 'proxy' ? 'netns' : partitionBed;
    if ((bed === 'netns' || bed === 'kube') && !root) return null;
    const slow = slowPath(req);
    const slowFor = slowPathFor(r);
    const partition =
      specs.push(tuneSpec(req, r.strategy, SILENT_FAULT[bed], bed, req.withinMs * 1.5)) - 1;
    const latency = kernelOnly
      ? null
      : specs.push(tuneSpec(req, r.strategy, 'latency', 'proxy', slowFor, slow)) - 1;
    return { bed, slow, slowFor, partition, latency };
  });
  // What a real cluster's fault needs of the request (messages crossing, to tell whether the
  // policy is in force) is refused here, before anything is created.
  for (const s of specs) if (s.testbed === 'k8s') validateSpec(s);
  // A few at a time, each in its own namespaces and address block, as a matrix runs them.
  const results: (ExperimentResult | Error)[] = new Array<ExperimentResult | Error>(specs.length);
  let next = 0;
  let done = 0;
  progress(`verifying: ${specs.length} experiments`);
  // The silent paths on a real cluster go as one Indexed Job, beside the local slow paths.
  const onCluster = specs.flatMap((s, i) => (s.testbed === 'k8s' ? [i] : []));
  const local = specs.flatMap((s, i) => (s.testbed === 'k8s' ? [] : [i]));
  // A cluster run that fails (refused at its preflight, unreachable) stops the local runs: its
  // error is known at once, and is reported once they have torn down, not after they ran out.
  const clusterFailed = new AbortController();
  const localSignal = AbortSignal.any([signal, clusterFailed.signal]);
  // Set from the cluster run's callbacks (an object: TypeScript does not narrow what they set).
  const clusterRun: { failure: Error | null; leftovers: readonly string[] } = {
    failure: null,
    leftovers: [],
  };
  const remote =
    cluster && onCluster.length > 0
      ? import('./k8s-run.js')
          .then(async ({ runOnCluster }) => {
            const rows = await runOnCluster(
              onCluster.map((i) => specs[i]!),
              cluster,
              {},
              signal,
              {
                onRow: () => {
                  done += 1;
                  progress(`verifying: ${done} of ${specs.length} experiments done`);
                },
              },
            );
            rows?.rows.forEach((row, j) => {
              results[onCluster[j]!] = row.result ?? new Error(row.error ?? 'no result');
            });
            clusterRun.leftovers = rows?.leftovers ?? [];
          })
          .catch((err: unknown) => {
            clusterRun.failure = err instanceof Error ? err : new Error(String(err));
            clusterFailed.abort();
          })
      : Promise.resolve();
  const worker = async (): Promise<void> => {
    while (next < local.length && !localSignal.aborted) {
      const i = local[next++]!;
      try {
        results[i] = await fan.run((own) =>
          runExperiment(specs[i]!, { runId, index: i, signal: own }),
        );
      } catch (err) {
        results[i] = err instanceof Error ? err : new Error(String(err));
      }
      done += 1;
      progress(`verifying: ${done} of ${specs.length} experiments done`);
    }
  };
  // One listener on the run's signal, not one per running experiment (util/abort.ts).
  const fan = new AbortFanOut(localSignal);
  try {
    await Promise.all([
      remote,
      ...Array.from({ length: Math.min(VERIFY_PARALLEL, local.length) }, worker),
    ]);
  } finally {
    fan.close();
  }
  // A teardown that left something behind is reported, never hidden behind the interruption.
  const leaked =
    results.find((r) => r instanceof TeardownError) ??
    (clusterRun.failure instanceof TeardownError ? clusterRun.failure : undefined) ??
    (clusterRun.leftovers.length > 0
      ? new TeardownError(undefined, clusterRun.leftovers)
      : undefined);
  if (leaked) throw leaked;
  if (signal.aborted) throw new InterruptedError();
  // The local runs it stopped say 'interrupted': the cluster's failure is what happened.
  if (clusterRun.failure) throw clusterRun.failure;
  const interrupted = results.find((r) => r instanceof InterruptedError);
  if (interrupted) throw interrupted;
  return plan.map((p) => {
    if (!p) return null;
    const part = results[p.partition]!;
    const lat = p.latency === null ? null : results[p.latency]!;
    const failed = [part, lat].find((r): r is Error => r instanceof Error);
    if (failed || part instanceof Error || lat instanceof Error)
      return {
        partition: { testbed: p.bed, detect_ms: null, in_time: false },
        slow_path: null,
        passed: false,
        error: (failed ?? new Error('unknown')).message,
      };
    if (part.verdict === 'fault not in force')
      return {
        partition: { testbed: p.bed, detect_ms: null, in_time: false },
        slow_path: null,
        passed: false,
        error:
          'the NetworkPolicy did not cut the open connection on this cluster (its CNI judges new connections only): there is no silent path to check against here',
      };
    // The verdict's allowance above a bound, with what the lab measured of its own lateness.
    const allowed = allowanceMs([req.withinMs, req.withinMs], {
      latenessMs: part.timer_lateness_ms ?? 0,
      applyMs: part.fault_apply_ms ?? 0,
    })[1];
    const inTime = part.detect_ms !== null && part.detect_ms <= req.withinMs + allowed;
    const falseDisconnect = lat !== null && lat.detect_ms !== null;
    return {
      partition: { testbed: p.bed, detect_ms: part.detect_ms, in_time: inTime },
      slow_path: lat
        ? {
            latency_ms: p.slow.ms,
            jitter_ms: p.slow.jitterMs,
            for_ms: p.slowFor,
            false_disconnect: falseDisconnect,
          }
        : null,
      passed: inTime && !falseDisconnect,
    };
  });
}

function render(
  req: TuneRequest,
  recs: Recommendation[],
  checks: (Verification | null)[] | null,
): string {
  const lines: string[] = [];
  const idle =
    req.idleTimeoutMs === null
      ? ''
      : `; the path forgets flows idle for ${formatMs(req.idleTimeoutMs)}`;
  lines.push(
    `halfopen tune: ${req.target} client, workload ${formatWorkload(req.workload)}: notice a silent peer within ${formatMs(req.withinMs)}; a healthy answer may be ${formatMs(req.tolerateMs)} late${idle}`,
  );
  const slow = slowPath(req);
  recs.forEach((r, i) => {
    lines.push('');
    if (!r.strategy) {
      lines.push(`  ${r.kind}: no setting fits`);
      lines.push(`    why          ${r.why}`);
      for (const n of r.notes) lines.push(`    note         ${n}`);
      return;
    }
    const spec = formatStrategy(r.strategy);
    lines.push(`  ${spec}`);
    lines.push(`    silent path  noticed ${formatWindow(r.window)} after the peer goes silent`);
    lines.push(`    why          ${r.why}`);
    if (r.probeEveryMs !== null && r.probeEveryMs > 0)
      lines.push(
        `    probes       every ${formatMs(r.probeEveryMs)} at most: a middlebox must keep idle flows longer than that`,
      );
    lines.push(`    tolerates    an answer ${formatMs(r.toleratesMs ?? 0)} late`);
    for (const n of r.notes) lines.push(`    note         ${n}`);
    const check = checks?.[i];
    if (check?.error) {
      lines.push(`    measured     the lab could not measure it: ${check.error}`);
    } else if (check) {
      const p = check.partition;
      const sp = check.slow_path;
      const slowText = sp
        ? `path ${sp.latency_ms} ms slower each way for ${formatMs(sp.for_ms)}: ${sp.false_disconnect ? 'FALSE DISCONNECT' : 'no false disconnect'}`
        : "slow path not measured (the fault proxy's kernel answers for the peer; netns has no latency without netem)";
      lines.push(
        `    measured     ${SILENT_FAULT[p.testbed as keyof typeof SILENT_FAULT] ?? 'partition'} (${p.testbed}): ${p.detect_ms === null ? 'not detected' : `detected at ${formatMs(p.detect_ms)}`}, ${p.in_time ? 'in time' : 'TOO LATE'}; ${slowText}`,
      );
    } else if (checks && process.getuid?.() !== 0 && isKernelOnly(r.strategy)) {
      lines.push("    measured     not here: the kernel's timers need the netns testbed (root)");
    }
    if (!checks) {
      const target = req.target === DEFAULT_TARGET ? '' : ` --target ${req.target}`;
      const qos = PROTOCOLS[req.target].qos ? ` --qos ${req.qos}` : '';
      const own = req.lib === undefined ? '' : " --client-cmd '<your program>'";
      const base = `halfopen run${target}${own} --strategy '${spec}' --workload ${formatWorkload(req.workload)}${qos}`;
      lines.push(
        `    check it     ${base} --fault partition --deadline ${Math.ceil((req.withinMs * 1.5) / 1000)}s`,
      );
      if (!isKernelOnly(r.strategy))
        lines.push(
          `                 ${base} --testbed proxy --fault latency --latency ${slow.ms}ms --deadline ${Math.ceil(slowPathFor(r) / 1000)}s`,
        );
    }
  });
  if (checks) {
    const measured = checks.filter((c): c is Verification => c !== null);
    const passed = measured.filter((c) => c.passed).length;
    lines.push('');
    const slowOnes = measured.filter((c) => c.slow_path !== null).length;
    lines.push(
      `verified: ${passed} of ${measured.length} settings passed: each noticed the silent path in time${slowOnes ? `, and rode out the slow path where measured (${slowOnes})` : ''}`,
    );
  }
  return lines.join('\n');
}

export async function tuneCommand(flags: TuneFlags, signal: AbortSignal): Promise<void> {
  const req = requestFromFlags(flags);
  const bed = parseChoice(
    flags.testbed ?? 'netns',
    Object.keys(SILENT_FAULT) as SilentBed[],
    '--testbed',
  );
  if (flags.testbed !== undefined && !flags.verify)
    throw new BadInputError('--testbed applies to --verify only');
  const cluster = clusterOptions(flags, VERIFY_PARALLEL, bed === 'k8s');
  if (cluster && flags.dryRun)
    throw new BadInputError(
      '--dry-run applies to run and matrix (tune --verify runs what it plans)',
    );
  if (flags.emit !== undefined)
    checkEmit(flags.emit, strategyKindsFor(req.target, false), req.target);
  // A library with a rule of its own (nats.go): its settings and windows, for your own program.
  const lib = flags.emit === undefined ? undefined : emitterFor(flags.emit).lib;
  if (lib !== undefined && flags.verify)
    throw new BadInputError(
      `--verify measures the lab's built-in client, not ${flags.emit}: run your program with halfopen run --client-cmd and the setting's --strategy`,
    );
  const recs = tune(lib === undefined ? req : { ...req, lib });
  let checks: (Verification | null)[] | null = null;
  if (flags.verify) {
    const progress = new Progress(flags.json ? false : undefined);
    try {
      checks = await verify(req, recs, bed, signal, progress.update, cluster);
    } finally {
      progress.clear();
    }
    if (verifyExitCode(checks) !== EXIT.ok) process.exitCode = verifyExitCode(checks);
  }
  if (flags.json) {
    const out = recs.map((r, i) => ({
      kind: r.kind,
      strategy: r.strategy ? formatStrategy(r.strategy) : null,
      predicted_ms: r.window,
      probe_every_ms: r.probeEveryMs,
      tolerates_ms: r.toleratesMs,
      why: r.why,
      notes: r.notes,
      ...(checks ? { verified: checks[i] } : {}),
    }));
    process.stdout.write(
      `${JSON.stringify({
        target: req.target,
        workload: formatWorkload(req.workload),
        within_ms: req.withinMs,
        tolerate_ms: req.tolerateMs,
        idle_timeout_ms: req.idleTimeoutMs,
        recommendations: out,
        ...(flags.emit === undefined ? {} : { emit: emitted(flags.emit, recs) }),
      })}\n`,
    );
    return;
  }
  process.stdout.write(`${render(lib === undefined ? req : { ...req, lib }, recs, checks)}\n`);
  if (flags.emit !== undefined)
    process.stdout.write(
      `\n${renderEmitted(emitted(flags.emit, recs), emitterFor(flags.emit).source)}\n`,
    );
}
