/**
 * Runs one experiment on the netns testbed, from an empty machine back to an empty machine:
 *   1. build the testbed (namespaces, veths, addresses, client sysctls)
 *   2. start the target in the server namespace; wait until it listens
 *   3. start the client in the client namespace; wait until it is connected; warm up
 *   2b. for brokers, start the sink next to the target (server namespace, loopback)
 *   4. apply the fault (T0); schedule the heal or the target's restart
 *   5. watch until the client has detected and, when the path returns, reconnected (or deadline)
 *   6. read the router's counters, stop the sending side, let the receiving side drain
 *   7. tear everything down (also on error and on abort), compute the metrics
 */
import { CLIENTS } from '../clients/index.js';
import type { TimelineEntry } from '../events.js';
import { InterruptedError, LabError, LabUnavailableError, TeardownError } from '../errors.js';
import { predict, verdict, type Prediction, type Verdict } from '../advise/predict.js';
import {
  formatStrategy,
  formatWorkload,
  PUSHING_TARGETS,
  type ExperimentSpec,
} from '../scenario/spec.js';
import { TARGETS, type TargetDef } from '../targets/index.js';
import { brokerPreflight, netnsPreflight } from '../testbeds/netns/preflight.js';
import { ProxyTestbed } from '../testbeds/proxy/testbed.js';
import type { BoundFault, Testbed } from '../testbeds/types.js';
import type { LabProcess } from '../testbeds/process.js';
import { NetnsTestbed } from '../testbeds/netns/topology.js';
import { msBetween, now, sleep, within } from '../util/clock.js';
import { Teardowns } from '../util/teardown.js';
import { computeMetrics, type MetricOptions, type Metrics } from './metrics.js';
import { KERNEL_POLL_MS, ownClientEnv, startOwnClient } from './own-client.js';
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
  /** The broker binary and its version, or the lab's own server. */
  target_version: string;
  /** The client library and its version. */
  client: string;
  strategy: string;
  workload: string;
  /** MQTT QoS of publish and subscribe; null for other targets. */
  qos: 0 | 1 | null;
  fault: string;
  heal_ms: number | null;
  restart_ms: number | null;
  /** The latency fault's delay each way and its jitter, in ms. */
  latency: { ms: number; jitter_ms: number } | null;
  /** The idle-timeout fault's timeout and what the middlebox does with a forgotten flow. */
  idle_timeout: { ms: number; on_expiry: 'drop' | 'reset' } | null;
  deadline_ms: number;
  sysctls: Record<string, number>;
  predicted_ms: [number, number] | null;
  predicted_why: string;
  verdict: Verdict;
  /** Packets matched by each fault rule in the router, e.g. { 'partition:0': 4 }. */
  wire: Record<string, number>;
  /** Socket options the kernel reported for the client's first connection (TCP client). */
  sockopts: Record<string, number | boolean>;
  /** When the lab applied the fault: from T0 until it was in force. */
  fault_apply_ms: number | null;
  /** The connection the fault hit, as the client namespace's kernel listed it. */
  flow: { client: string; server: string } | null;
  /** Every status event the client's library emitted, in ms from T0 (negative: before it). */
  events: { at_ms: number; name: string; detail?: string }[];
  timeline: TimelineEntry[];
}

/** After the client has detected (and reconnected, if it can), let the sink catch up. */
const SETTLE_MS = 500;
const READY_TIMEOUT_MS = 10_000;

type Bed = Testbed;

/**
 * Starts the target in the server namespace and waits until it accepts connections: the lab's
 * own server says so in a JSON event, a broker in its log.
 */
async function startTarget(
  bed: Bed,
  def: TargetDef,
  spec: ExperimentSpec,
  timeline: Timeline,
  signal: AbortSignal | undefined,
): Promise<LabProcess> {
  const dir = def.broker ? bed.privateDir() : '';
  // A pushing server (subscribe) restarted goes on numbering where the last one stopped.
  let firstSeq = 1;
  for (const e of timeline.entries)
    if (e.src === 'target' && e.type === 'sent') firstSeq = Math.max(firstSeq, e.seq + 1);
  const launch = def.launch({
    host: bed.targetHost,
    port: bed.targetPort,
    dir,
    strategy: spec.strategy,
    workload: spec.workload,
    firstSeq,
  });
  bed.writeFiles(launch.files);
  const since = now();
  const target = bed.spawn('server', launch.argv, 'target');
  if (def.broker)
    timeline.attachLog(target, def.broker.ready, { address: bed.targetHost, port: bed.targetPort });
  else timeline.attach('target', target);
  await waitReady(
    timeline,
    target,
    `the target (${def.describe.split(' ')[0]})`,
    (e) => e.src === 'target' && e.type === 'listening' && e.t >= since,
    READY_TIMEOUT_MS,
    signal,
  );
  return target;
}

/**
 * Brings the target back after graceful, kill or node-loss. Until the sink is back on the new
 * target, the router answers the client's connection attempts with RST, which is what the
 * client's SYN meets anyway while nothing listens: so the sink is never later than the client,
 * and what the client publishes after its reconnect is not lost for want of a receiver.
 */
async function restartTarget(
  bed: Bed,
  def: TargetDef,
  spec: ExperimentSpec,
  fault: BoundFault,
  oldTarget: LabProcess,
  timeline: Timeline,
  sink: LabProcess | undefined,
  signal: AbortSignal,
): Promise<LabProcess> {
  const stopped = (): void => {
    if (signal.aborted) throw new InterruptedError();
  };
  timeline.mark({ type: 'restart', phase: 'start' });
  // The old target must be gone (graceful: it may still be closing) before the port is reused.
  await within(oldTarget.exited, 5000, signal);
  stopped();
  await bed.gate(true);
  await fault.beforeRestart?.();
  stopped();
  const since = now();
  const target = await startTarget(bed, def, spec, timeline, signal);
  // A server that pushes to a subscribing client starts again at once (nobody to wait for).
  if (pushes(spec)) target.stdin.write('start\n');
  if (sink)
    await waitReady(
      timeline,
      sink,
      'the sink (after the restart)',
      (e) => e.src === 'sink' && e.type === 'ready' && e.t >= since,
      READY_TIMEOUT_MS,
      signal,
    );
  stopped();
  // Marked before the gate opens, so no reconnect can be stamped before the return it follows.
  timeline.mark({ type: 'restart', phase: 'applied' });
  await bed.gate(false);
  return target;
}

/** The lab's own ws, gRPC and HTTP/2 servers are the far side of a subscribing client. */
const pushes = (spec: ExperimentSpec): boolean =>
  spec.workload.kind === 'subscribe' && PUSHING_TARGETS.includes(spec.target);

/**
 * The target to start, and its version: the broker binary when installed; on the proxy testbed,
 * where nothing needs root, an embedded broker when the binary is missing.
 */
async function resolveTarget(spec: ExperimentSpec): Promise<{ def: TargetDef; version: string }> {
  const def = TARGETS[spec.target];
  if (!def.broker) return { def, version: def.version ?? def.describe };
  try {
    return { def, version: await brokerPreflight(def.broker) };
  } catch (err) {
    if (spec.testbed !== 'proxy' || !def.embedded || !(err instanceof LabUnavailableError))
      throw err;
    const embedded = def.embedded;
    return { def: embedded, version: embedded.version ?? embedded.describe };
  }
}

/** The testbed an experiment asks for, after checking this machine can host it. */
async function createTestbed(
  spec: ExperimentSpec,
  opts: { runId: string; index: number },
  teardowns: Teardowns,
): Promise<Bed> {
  switch (spec.testbed) {
    case 'netns':
      return NetnsTestbed.create(
        {
          ...opts,
          clientSysctls: spec.sysctls,
          targetPort: TARGETS[spec.target].port,
          proxyInPath: spec.fault === 'proxy-dead-upstream',
          ...(spec.idleTimeout ? { middlebox: spec.idleTimeout } : {}),
        },
        teardowns,
      );
    case 'proxy':
      return ProxyTestbed.create(
        { ...opts, latency: spec.latency, idleTimeout: spec.idleTimeout },
        teardowns,
      );
  }
}

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
  // Stops a pending heal or restart on every path out (done, error, abort), so no timer outlives
  // the run.
  const returnController = new AbortController();
  const returnSignal = signal
    ? AbortSignal.any([signal, returnController.signal])
    : returnController.signal;
  let failure: Error | undefined;
  let returning: Promise<void> | undefined;
  let returnFailure: Error | undefined;
  try {
    const clientDef = CLIENTS[spec.target];
    if (spec.testbed === 'netns') await netnsPreflight();
    const { def: targetDef, version: targetVersion } = await resolveTarget(spec);
    checkAbort();
    // 1. Testbed.
    progress('building testbed');
    const bed = await createTestbed(spec, { runId: opts.runId, index: opts.index }, teardowns);
    checkAbort();

    // 2. Target, and for brokers the sink next to it (over the server namespace's loopback).
    progress(`starting ${spec.target} target`);
    let target = await startTarget(bed, targetDef, spec, timeline, signal);
    checkAbort();
    const clientId = `c${opts.index}`;
    const sink = clientDef.sinkArgv
      ? bed.spawn(
          'server',
          [
            process.execPath,
            ...clientDef.sinkArgv({
              port: bed.targetPort,
              clientId,
              workload: spec.workload,
              qos: spec.qos,
            }),
          ],
          'sink',
        )
      : undefined;
    if (sink) {
      timeline.attach('sink', sink);
      await waitReady(
        timeline,
        sink,
        'the sink',
        (e) => e.src === 'sink' && e.type === 'ready',
        READY_TIMEOUT_MS,
        signal,
      );
      checkAbort();
    }

    // 3. Client: the lab's own for the target's protocol, or yours (--client-cmd).
    progress('starting client');
    const clientArgs = { ...bed.clientDial(), clientId };
    let client: LabProcess;
    if (spec.own) {
      client = startOwnClient(bed, spec.own, ownClientEnv(spec, clientArgs), timeline);
    } else {
      client = bed.spawn(
        'client',
        [
          process.execPath,
          ...clientDef.argv({
            ...clientArgs,
            strategy: spec.strategy,
            workload: spec.workload,
            qos: spec.qos,
          }),
        ],
        'client',
      );
      timeline.attach('client', client);
    }
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
    // A subscribing client is now subscribed: the far side may start publishing.
    if (spec.workload.kind === 'subscribe') sink?.stdin.write('start\n');
    if (pushes(spec)) target.stdin.write('start\n');
    progress('warming up');
    await sleep(spec.warmupMs, signal);
    checkAbort();
    const early = timeline.find(
      (e) =>
        e.src === 'client' && (e.type === 'detected' || e.type === 'fatal' || e.type === 'exited'),
    );
    if (early)
      throw new LabError(
        `the client failed before the fault: ${JSON.stringify({ ...early, t: undefined })}`,
      );

    // 4. Fault, and the path's return: a heal (partition) or the target's restart.
    const fault = await bed.bindFault(spec.fault, {
      target: () => target,
      mark: (e) => void timeline.mark(e),
    });
    const { flow } = fault;
    progress(`applying ${spec.fault}`);
    await fault.apply();
    const t0 = timeline.find(
      (e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'start',
    )!.t;
    const applied = timeline.find(
      (e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'applied',
    )?.t;
    // The path's return, scheduled from T0: the heal of a partition, or the target's restart.
    let comeBack: { atMs: number; run: () => Promise<void> } | null = null;
    // reset and idle-timeout break the one flow: a new connection passes at once.
    let reconnectFrom: MetricOptions['reconnectFrom'] =
      spec.fault === 'reset' || spec.fault === 'idle-timeout' ? 'detection' : null;
    if (spec.healMs !== null && fault.heal) {
      comeBack = { atMs: spec.healMs, run: fault.heal };
      reconnectFrom = 'heal';
    } else if (spec.restartMs !== null) {
      comeBack = {
        atMs: spec.restartMs,
        run: async () => {
          target = await restartTarget(
            bed,
            targetDef,
            spec,
            fault,
            target,
            timeline,
            sink,
            returnSignal,
          );
        },
      };
      reconnectFrom = 'restart';
    }
    if (comeBack) {
      const { atMs, run } = comeBack;
      returning = (async () => {
        await sleep(atMs - msBetween(t0, now()), returnSignal);
        if (!returnSignal.aborted) await run();
      })().catch((err: unknown) => {
        // Cut short by the deadline or the run's end: not a failure of the lab.
        if (!returnSignal.aborted)
          returnFailure = err instanceof Error ? err : new LabError(String(err));
      });
    }

    // 5. Watch. Stop early once the story is complete: detected, and reconnected where the path
    // comes back (heal, restart; reset kills only the one flow). Otherwise run to the deadline.
    const metricOpts: MetricOptions = {
      reconnectFrom,
      workload: spec.workload.kind,
      deadlineMs: spec.deadlineMs,
      countGaps: spec.own !== undefined,
    };
    const deadlineAt = t0 + BigInt(Math.round(spec.deadlineMs * 1e6));
    const done = (): boolean => {
      const m = computeMetrics(timeline.entries, metricOpts);
      return m.detect_ms !== null && (metricOpts.reconnectFrom === null || m.reconnect_ms !== null);
    };
    while (!done()) {
      const left = msBetween(now(), deadlineAt);
      if (left <= 0) break;
      if (returnFailure) throw returnFailure;
      const blind = spec.own
        ? timeline.find((e) => e.src === 'client' && e.type === 'fatal')
        : undefined;
      if (blind?.type === 'fatal') throw new LabError(blind.error);
      // Your program may end when it notices (a shell one-liner does): nothing more can come.
      if (spec.own && client.hasExited()) {
        await sleep(50 + 2 * KERNEL_POLL_MS, signal);
        break;
      }
      if (client.hasExited()) {
        const fatal = [...timeline.entries]
          .reverse()
          .find((e) => e.src === 'client' && e.type === 'fatal');
        const why = fatal?.type === 'fatal' ? fatal.error : client.stderrTail().trim();
        throw new LabError(`the client exited during the experiment: ${why.slice(-300)}`);
      }
      // ip-reuse takes the sink down with the lost host; otherwise its death spoils the counts.
      if (sink?.hasExited() && spec.fault !== 'ip-reuse')
        throw new LabError(
          `the sink exited during the experiment: ${sink.stderrTail().trim().slice(-300)}`,
        );
      progress(
        `${spec.fault} applied ${(msBetween(t0, now()) / 1000).toFixed(1)}s ago; waiting for detection (deadline ${spec.deadlineMs / 1000}s)`,
      );
      // Wake at a detection or the path's return; deliveries are checked every 250 ms, so a
      // fast publisher does not make this loop recompute the metrics for every message.
      await timeline.waitForNext(
        (e) =>
          (e.src === 'client' && (e.type === 'detected' || e.type === 'fatal')) ||
          (e.src === 'lab' && (e.type === 'heal' || e.type === 'restart')),
        Math.min(left, 250),
        signal,
      );
      checkAbort();
    }
    if (!done()) timeline.mark({ type: 'deadline' });
    else await sleep(SETTLE_MS, signal);
    checkAbort();
    returnController.abort();
    await returning;
    if (returnFailure) throw returnFailure;

    // 6. Read the router's counters for the experiment's window (before the client's FIN). Stop
    // the sending side first and let what is in flight arrive, then the receiving side.
    progress('collecting');
    const counters = Object.fromEntries(await bed.readCounters());
    timeline.mark({ type: 'stop', reason: done() ? 'complete' : 'deadline' });
    const [sender, receiver] =
      spec.workload.kind !== 'subscribe'
        ? [client, sink]
        : sink
          ? [sink, client]
          : [target, client];
    sender.kill('SIGTERM');
    await within(sender.exited, 1000);
    await sleep(200);
    receiver?.kill('SIGTERM');
    const metrics = computeMetrics(timeline.entries, metricOpts);
    outcome = {
      testbed: spec.testbed,
      target: spec.target,
      target_version: targetVersion,
      client: spec.own ? `your command: ${spec.own.command}` : clientDef.library,
      strategy:
        spec.own && !spec.own.declared ? 'unknown (your program)' : formatStrategy(spec.strategy),
      workload: formatWorkload(spec.workload),
      qos: spec.target === 'mqtt' ? spec.qos : null,
      fault: spec.fault,
      heal_ms: spec.healMs,
      restart_ms: spec.restartMs,
      latency: spec.latency ? { ms: spec.latency.ms, jitter_ms: spec.latency.jitterMs } : null,
      idle_timeout: spec.idleTimeout
        ? { ms: spec.idleTimeout.ms, on_expiry: spec.idleTimeout.onExpiry }
        : null,
      deadline_ms: spec.deadlineMs,
      sysctls: spec.sysctls,
      ...metrics,
      predicted_ms: prediction.window ? [prediction.window[0], prediction.window[1]] : null,
      predicted_why: prediction.why,
      verdict: verdict(
        metrics.detect_ms,
        prediction.window,
        spec.deadlineMs,
        prediction.unknown === true,
      ),
      wire: counters,
      sockopts: connected.sockopts ?? {},
      fault_apply_ms: applied ? Math.round(msBetween(t0, applied) * 10) / 10 : null,
      flow: flow
        ? {
            client: `${flow.client.address}:${flow.client.port}`,
            server: `${flow.server.address}:${flow.server.port}`,
          }
        : null,
      events: libraryEvents(timeline.entries, t0),
    };
  } catch (err) {
    failure = signal?.aborted
      ? new InterruptedError()
      : err instanceof Error
        ? err
        : new LabError(String(err));
  } finally {
    // A heal or restart in flight stops at its next step; teardown waits for it.
    returnController.abort();
    await returning;
    progress('tearing down');
    const leftovers = await teardowns.runAll();
    if (leftovers.length > 0) failure = new TeardownError(failure, leftovers);
  }
  if (failure !== undefined) throw failure;
  return { ...outcome!, timeline: timeline.entries };
}

/** The client library's status events, relative to T0. */
function libraryEvents(entries: readonly TimelineEntry[], t0: bigint): ExperimentResult['events'] {
  const out: ExperimentResult['events'] = [];
  for (const e of entries) {
    if (e.src === 'client' && e.type === 'status')
      out.push({
        at_ms: Math.round(msBetween(t0, e.t) * 10) / 10,
        name: e.name,
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      });
  }
  return out;
}
