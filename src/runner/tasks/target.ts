/** The target: started in the server's side of the testbed, and started again after a fault. */
import { ProcessGroup, type LabProcess } from '../../core/process.js';
import { ProcessError } from '../../errors.js';
import type { ServerSite } from '../../testbeds/types.js';
import { startSink } from './client.js';
import { now, within } from '../../util/clock.js';
import { targetPushes } from '../spec-questions.js';
import { waitReady } from '../timeline.js';
import { checkAbort, need, READY_TIMEOUT_MS, type ExperimentContext } from './context.js';
import type { Task } from './task.js';
import { startOwnServer } from '../own-server.js';

/**
 * Starts the target and waits until it accepts connections: the lab's own server says so in a
 * JSON event, a broker in its log. The testbed registers the process's teardown.
 */
export async function startTarget(
  ctx: ExperimentContext,
  site: ServerSite,
  signal = ctx.signal,
): Promise<LabProcess> {
  const { spec, timeline, made } = ctx;
  const bed = need(made.bed, 'testbed');
  const def = need(made.targetDef, 'target');
  if (spec.ownServer) {
    const since = now();
    const own = startOwnServer(
      spec,
      spec.ownServer,
      site,
      { host: bed.targetHost, port: bed.targetPort },
      timeline,
    );
    const what = `your server${site.peers.length > 0 ? ` in ${site.name}` : ''}`;
    try {
      await waitReady(
        timeline,
        own,
        `${what} (listening on port ${bed.targetPort})`,
        (e) => e.src === 'target' && e.type === 'listening' && e.t >= since,
        READY_TIMEOUT_MS,
        signal,
      );
    } catch (err) {
      if (!own.hasExited() || signal.aborted) throw err;
      const tail = own.stderrTail().trim().split('\n').slice(-3).join(' | ');
      throw new ProcessError(
        `${what} exited (${await own.exited}) before it listened on port ${bed.targetPort}${tail ? `: ${tail}` : ''}`,
      );
    }
    return own;
  }
  const dir = def.broker ? site.dir() : '';
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
    ...(site.peers.length > 0
      ? {
          cluster: { name: site.name, peers: site.peers, advertise: spec.kube?.advertise ?? false },
        }
      : {}),
  });
  site.writeFiles(launch.files);
  const since = now();
  const target = site.spawn(launch.argv, `target ${site.name}`);
  // Events carry the pod they came from where there are several (kube).
  const { pod } = site;
  if (def.broker)
    timeline.attachLog(
      target,
      def.broker.ready,
      { address: site.address, port: bed.targetPort },
      pod,
    );
  else timeline.attach('target', target, pod);
  await waitReady(
    timeline,
    target,
    `the target (${def.describe.split(' ')[0]}${site.replica > 0 || site.peers.length > 0 ? ` in ${site.name}` : ''})`,
    (e) => e.src === 'target' && e.type === 'listening' && e.t >= since,
    READY_TIMEOUT_MS,
    signal,
  );
  return target;
}

export const target: Task<ExperimentContext> = {
  name: 'target',
  async setup(ctx) {
    const { made, spec } = ctx;
    const bed = need(made.bed, 'testbed');
    const sites = bed.sites();
    ctx.progress(
      `starting ${spec.target} target${sites.length > 1 ? ` (${sites.length} replicas)` : ''}`,
    );
    const group = new ProcessGroup();
    made.target = group;
    for (const site of sites) group.add(await startTarget(ctx, site));
    // A replacement pod (kube) runs the target and a broker's sink too, and a pushing target starts
    // at once when the client is subscribed already.
    bed.onNewSite(async (site) => {
      const proc = await startTarget(ctx, site);
      group.add(proc);
      if (made.client && targetPushes(spec)) proc.stdin.write('start\n');
      await startSink(ctx, site);
    });
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
  made.target = await startTarget(ctx, bed.sites()[0]!, signal);
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
