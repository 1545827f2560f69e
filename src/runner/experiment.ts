/**
 * Runs one experiment on the netns testbed, from an empty machine back to an empty machine:
 *   1. build the testbed (namespaces, veths, addresses, client sysctls)
 *   2. start the target in the server namespace; wait until it listens
 *   3. start the client in the client namespace; wait until it is connected; warm up
 *   4. apply the fault (T0); schedule the heal
 *   5. watch until the client has detected and, when the path returns, reconnected (or deadline)
 *   6. stop the client, let the sink drain, read the router's counters
 *   7. tear everything down (also on error and on abort), compute the metrics
 */
import { CLIENTS } from '../clients/index.js';
import type { TimelineEntry } from '../events.js';
import { InterruptedError, LabError } from '../errors.js';
import { predict, verdict, type Prediction, type Verdict } from '../advise/predict.js';
import { formatStrategy, formatWorkload, type ExperimentSpec } from '../scenario/spec.js';
import { TARGETS } from '../targets/index.js';
import { NETNS_FAULTS } from '../testbeds/netns/faults/index.js';
import { netnsPreflight } from '../testbeds/netns/preflight.js';
import { NetnsTestbed } from '../testbeds/netns/topology.js';
import { msBetween, now, sleep } from '../util/clock.js';
import { Teardowns } from '../util/teardown.js';
import { computeMetrics, type Metrics } from './metrics.js';
import { Timeline, waitReady } from './timeline.js';

export interface ExperimentOptions {
  runId: string;
  index: number;
  signal?: AbortSignal;
  /** Called with a short status line as the experiment progresses. */
  onProgress?: (status: string) => void;
}

export interface ExperimentResult extends Metrics {
  testbed: string;
  target: string;
  client: string;
  strategy: string;
  workload: string;
  fault: string;
  heal_ms: number | null;
  deadline_ms: number;
  sysctls: Record<string, number>;
  predicted_ms: [number, number] | null;
  predicted_why: string;
  verdict: Verdict;
  /** Packets matched by each fault rule in the router, e.g. { 'partition:0': 4 }. */
  wire: Record<string, number>;
  /** Socket options the kernel reported for the client's first connection. */
  sockopts: Record<string, number | boolean>;
  /** When the lab applied the fault: from T0 until it was in force. */
  fault_apply_ms: number | null;
  timeline: TimelineEntry[];
}

/** After the client has detected (and reconnected, if it can), let the sink catch up. */
const SETTLE_MS = 500;
const READY_TIMEOUT_MS = 10_000;

export async function runExperiment(
  spec: ExperimentSpec,
  opts: ExperimentOptions,
): Promise<ExperimentResult> {
  const { signal } = opts;
  const progress = opts.onProgress ?? (() => undefined);
  const teardowns = new Teardowns();
  const timeline = new Timeline();
  const prediction: Prediction = predict(spec);
  const checkAbort = (): void => {
    if (signal?.aborted) throw new InterruptedError();
  };
  let outcome: Omit<ExperimentResult, 'timeline'> | undefined;
  // Stops a pending heal on every path out (done, error, abort), so no timer outlives the run.
  const healController = new AbortController();
  const healSignal = signal
    ? AbortSignal.any([signal, healController.signal])
    : healController.signal;
  let failure: Error | undefined;
  try {
    await netnsPreflight();
    checkAbort();
    // 1. Testbed.
    progress('building testbed');
    const bed = await NetnsTestbed.create(
      { runId: opts.runId, index: opts.index, clientSysctls: spec.sysctls },
      teardowns,
    );
    checkAbort();

    // 2. Target.
    const targetDef = TARGETS[spec.target];
    progress(`starting ${spec.target} target`);
    const target = bed.spawn(
      'server',
      [process.execPath, ...targetDef.argv({ host: bed.addr.server, port: targetDef.port })],
      'target',
    );
    timeline.attach('target', target);
    await waitReady(
      timeline,
      target,
      'the target',
      (e) => e.src === 'target' && e.type === 'listening',
      READY_TIMEOUT_MS,
      signal,
    );
    checkAbort();

    // 3. Client.
    const clientDef = CLIENTS[spec.target];
    progress('starting client');
    const client = bed.spawn(
      'client',
      [
        process.execPath,
        ...clientDef.argv({
          host: bed.addr.server,
          port: targetDef.port,
          clientId: `c${opts.index}`,
          strategy: spec.strategy,
          workload: spec.workload,
        }),
      ],
      'client',
    );
    timeline.attach('client', client);
    const connected = await waitReady(
      timeline,
      client,
      'the client',
      (e) => e.src === 'client' && e.type === 'connected',
      READY_TIMEOUT_MS,
      signal,
    );
    if (connected.src !== 'client' || connected.type !== 'connected')
      throw new LabError('unreachable');
    progress('warming up');
    await sleep(spec.warmupMs, signal);
    checkAbort();
    const early = timeline.find(
      (e) => e.src === 'client' && (e.type === 'detected' || e.type === 'fatal'),
    );
    if (early)
      throw new LabError(
        `the client failed before the fault: ${JSON.stringify({ ...early, t: undefined })}`,
      );

    // 4. Fault, and its heal.
    const fault = NETNS_FAULTS[spec.fault];
    const ctx = {
      bed,
      target,
      flow: { client: connected.local, server: connected.remote },
      mark: (e: Parameters<Timeline['mark']>[0]) => void timeline.mark(e),
    };
    progress(`applying ${spec.fault}`);
    await fault.apply(ctx);
    const t0 = timeline.find(
      (e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'start',
    )!.t;
    const applied = timeline.find(
      (e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'applied',
    )?.t;
    let healing: Promise<void> | undefined;
    if (spec.healMs !== null && fault.heal) {
      const heal = fault.heal.bind(fault);
      const healMs = spec.healMs;
      healing = (async () => {
        await sleep(healMs - msBetween(t0, now()), healSignal);
        if (!healSignal.aborted) await heal(ctx);
      })();
      // A failed heal is reported when awaited below; never as an unhandled rejection.
      healing.catch(() => undefined);
    }

    // 5. Watch. Stop early once the story is complete: detected, and reconnected where the path
    // comes back (heal; reset kills only the one flow). Otherwise run to the deadline.
    const reconnectFrom =
      spec.healMs !== null ? 'heal' : spec.fault === 'reset' ? 'detection' : null;
    const deadlineAt = t0 + BigInt(Math.round(spec.deadlineMs * 1e6));
    const done = (): boolean => {
      const m = computeMetrics(timeline.entries, {
        reconnectFrom,
        workload: spec.workload.kind,
        deadlineMs: spec.deadlineMs,
      });
      return m.detect_ms !== null && (reconnectFrom === null || m.reconnect_ms !== null);
    };
    while (!done()) {
      const left = msBetween(now(), deadlineAt);
      if (left <= 0) break;
      if (client.hasExited())
        throw new LabError(
          `the client exited during the experiment: ${client.stderrTail().trim().slice(-300)}`,
        );
      progress(
        `${spec.fault} applied ${(msBetween(t0, now()) / 1000).toFixed(1)}s ago; waiting for detection (deadline ${spec.deadlineMs / 1000}s)`,
      );
      await timeline.waitForNext(
        (e) => e.src !== 'lab' || e.type === 'heal',
        Math.min(left, 250),
        signal,
      );
      checkAbort();
    }
    if (!done()) timeline.mark({ type: 'deadline' });
    else await sleep(SETTLE_MS, signal);
    checkAbort();
    healController.abort();
    await healing;

    // 6. Read the router's counters for the experiment's window (before the client's FIN), stop
    // the client so nothing more is in flight, then let the sink drain.
    progress('collecting');
    const counters = Object.fromEntries(await bed.readCounters());
    timeline.mark({ type: 'stop', reason: done() ? 'complete' : 'deadline' });
    client.kill('SIGTERM');
    await Promise.race([client.exited, sleep(1000)]);
    await sleep(200);
    const metrics = computeMetrics(timeline.entries, {
      reconnectFrom,
      workload: spec.workload.kind,
      deadlineMs: spec.deadlineMs,
    });
    outcome = {
      testbed: spec.testbed,
      target: spec.target,
      client: clientDef.library,
      strategy: formatStrategy(spec.strategy),
      workload: formatWorkload(spec.workload),
      fault: spec.fault,
      heal_ms: spec.healMs,
      deadline_ms: spec.deadlineMs,
      sysctls: spec.sysctls,
      ...metrics,
      predicted_ms: prediction.window ? [prediction.window[0], prediction.window[1]] : null,
      predicted_why: prediction.why,
      verdict: verdict(metrics.detect_ms, prediction.window, spec.deadlineMs),
      wire: counters,
      sockopts: connected.sockopts,
      fault_apply_ms: applied ? Math.round(msBetween(t0, applied) * 10) / 10 : null,
    };
  } catch (err) {
    failure = signal?.aborted
      ? new InterruptedError()
      : err instanceof Error
        ? err
        : new LabError(String(err));
  } finally {
    healController.abort();
    progress('tearing down');
    const leftovers = await teardowns.runAll();
    if (leftovers.length > 0) {
      const what = `teardown failed: ${leftovers.join('; ')}`;
      failure = new LabError(failure ? `${failure.message}; ${what}` : what);
    }
  }
  if (failure !== undefined) throw failure;
  return { ...outcome!, timeline: timeline.entries };
}
