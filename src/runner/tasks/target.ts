/** The target: started in the server's side of the testbed, and started again after a fault. */
import type { LabProcess } from '../../core/process.js';
import { now, within } from '../../util/clock.js';
import { targetPushes } from '../spec-questions.js';
import { waitReady } from '../timeline.js';
import { checkAbort, need, READY_TIMEOUT_MS, type ExperimentContext } from './context.js';
import type { Task } from './task.js';

/**
 * Starts the target and waits until it accepts connections: the lab's own server says so in a
 * JSON event, a broker in its log. The testbed registers the process's teardown.
 */
export async function startTarget(
  ctx: ExperimentContext,
  signal = ctx.signal,
): Promise<LabProcess> {
  const { spec, timeline, made } = ctx;
  const bed = need(made.bed, 'testbed');
  const def = need(made.targetDef, 'target');
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

export const target: Task<ExperimentContext> = {
  name: 'target',
  async setup(ctx) {
    ctx.progress(`starting ${ctx.spec.target} target`);
    ctx.made.target = await startTarget(ctx);
  },
};

/**
 * Brings the target back after graceful, kill or node-loss. Until the sink is back on the new
 * target, the router answers the client's connection attempts with RST, which is what the
 * client's SYN meets anyway while nothing listens: so the sink is never later than the client,
 * and what the client publishes after its reconnect is not lost for want of a receiver.
 * `signal` ends it at its next step: the run's, or the end of the experiment's watch.
 */
export async function restartTarget(ctx: ExperimentContext, signal: AbortSignal): Promise<void> {
  const { spec, timeline, made } = ctx;
  const bed = need(made.bed, 'testbed');
  const fault = need(made.fault, 'fault');
  const stopped = (): void => checkAbort(signal);
  timeline.mark({ type: 'restart', phase: 'start' });
  // The old target must be gone (graceful: it may still be closing) before the port is reused.
  await within(need(made.target, 'target').exited, 5000, signal);
  stopped();
  await bed.gate(true);
  await fault.beforeRestart?.();
  stopped();
  const since = now();
  made.target = await startTarget(ctx, signal);
  // A server that pushes to a subscribing client starts again at once (nobody to wait for).
  if (targetPushes(spec)) made.target.stdin.write('start\n');
  if (made.sink)
    await waitReady(
      timeline,
      made.sink,
      'the sink (after the restart)',
      (e) => e.src === 'sink' && e.type === 'ready' && e.t >= since,
      READY_TIMEOUT_MS,
      signal,
    );
  stopped();
  // Marked before the gate opens, so no reconnect can be stamped before the return it follows.
  timeline.mark({ type: 'restart', phase: 'applied' });
  await bed.gate(false);
}
