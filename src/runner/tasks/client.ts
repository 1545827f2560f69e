/**
 * The two ends of the workload around the target: a broker's sink next to it (over the server
 * side's loopback), and the client on the other side of the path, connected and warmed up.
 */
import { LabError } from '../../errors.js';
import { ProcessGroup, type LabProcess } from '../../core/process.js';
import type { ServerSite } from '../../testbeds/types.js';
import { now, sleep } from '../../util/clock.js';
import { ownClientEnv, startOwnClient } from '../own-client.js';
import { clientOf, targetPushes } from '../spec-questions.js';
import { waitReady } from '../timeline.js';
import { checkAbort, need, READY_TIMEOUT_MS, type ExperimentContext } from './context.js';
import type { Task } from './task.js';

/** The id the client and its sink agree on (topic, subject). */
const clientId = (ctx: ExperimentContext): string => `c${ctx.index}`;

/**
 * For brokers: the sink that receives what the client publishes, or publishes to it, beside the
 * target at `site` (over its loopback). Null for targets that count deliveries themselves.
 */
export async function startSink(
  ctx: ExperimentContext,
  site: ServerSite,
): Promise<LabProcess | null> {
  const { spec, timeline, made } = ctx;
  const def = clientOf(spec);
  if (!def.sinkArgv) return null;
  const bed = need(made.bed, 'testbed');
  const argv = def.sinkArgv({
    port: bed.targetPort,
    clientId: clientId(ctx),
    workload: spec.workload,
    qos: spec.qos,
  });
  const proc = site.spawn([process.execPath, ...argv], `sink ${site.name}`);
  timeline.attach('sink', proc, site.pod);
  const since = now();
  await waitReady(
    timeline,
    proc,
    'the sink',
    (e) => e.src === 'sink' && e.type === 'ready' && e.t >= since,
    READY_TIMEOUT_MS,
    ctx.signal,
  );
  (made.sink as ProcessGroup | undefined)?.add(proc);
  return proc;
}

/** For brokers: one sink beside each of the target's replicas. */
export const sink: Task<ExperimentContext> = {
  name: 'sink',
  async setup(ctx) {
    if (!clientOf(ctx.spec).sinkArgv) return;
    const bed = need(ctx.made.bed, 'testbed');
    ctx.made.sink = new ProcessGroup();
    for (const site of bed.sites()) await startSink(ctx, site);
  },
};

/**
 * The client: the lab's own for the target's protocol, or yours (--client-cmd). Once it is
 * connected (and, subscribing, subscribed) the far side starts publishing; then the warm-up, and
 * a client that failed already is a failed experiment, not a measurement.
 */
export const client: Task<ExperimentContext> = {
  name: 'client',
  async setup(ctx) {
    const { spec, timeline, made, signal, progress } = ctx;
    const bed = need(made.bed, 'testbed');
    progress('starting client');
    const args = { ...bed.clientDial(), clientId: clientId(ctx) };
    let proc: LabProcess;
    if (spec.own) {
      proc = startOwnClient(bed, spec.own, ownClientEnv(spec, args), timeline);
    } else {
      const argv = clientOf(spec).argv({
        ...args,
        strategy: spec.strategy,
        workload: spec.workload,
        qos: spec.qos,
      });
      proc = bed.spawn('client', [process.execPath, ...argv], 'client');
      timeline.attach('client', proc);
    }
    made.client = proc;
    await waitReady(
      timeline,
      proc,
      'the client',
      (e) => e.src === 'client' && e.type === 'connected',
      READY_TIMEOUT_MS,
      signal,
    );
    // A subscribing client is now subscribed: the far side may start publishing.
    if (spec.workload.kind === 'subscribe') made.sink?.stdin.write('start\n');
    if (targetPushes(spec)) need(made.target, 'target').stdin.write('start\n');
    progress('warming up');
    await sleep(spec.warmupMs, signal);
    checkAbort(signal);
    const early = timeline.find(
      (e) =>
        e.src === 'client' && (e.type === 'detected' || e.type === 'fatal' || e.type === 'exited'),
    );
    if (early)
      throw new LabError(
        `the client failed before the fault: ${JSON.stringify({ ...early, t: undefined })}`,
      );
  },
};
