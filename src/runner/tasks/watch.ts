/**
 * The measurement: watch from T0 until the story is complete or the deadline, then read the
 * wire's counters and stop the workload so what is in flight can arrive.
 */
import type { TimelineEntry } from '../../events.js';
import { LabError } from '../../errors.js';
import type { ExperimentSpec } from '../../scenario/spec.js';
import { msBetween, now, sleep, within } from '../../util/clock.js';
import { computeMetrics } from '../metrics.js';
import { KERNEL_POLL_MS } from '../own-client.js';
import { metricOptions } from '../result.js';
import { sinkMayDie } from '../spec-questions.js';
import { checkAbort, need, type ExperimentContext } from './context.js';
import type { Task } from './task.js';

/** After the client has detected (and reconnected, if it can), let the sink catch up. */
const SETTLE_MS = 500;

/**
 * Is the story complete: detected, and reconnected where the path comes back (heal, restart;
 * reset kills only the one flow)?
 */
export function storyComplete(entries: readonly TimelineEntry[], spec: ExperimentSpec): boolean {
  const opts = metricOptions(spec);
  const m = computeMetrics(entries, opts);
  return m.detect_ms !== null && (opts.reconnectFrom === null || m.reconnect_ms !== null);
}

/**
 * Stops early once the story is complete; otherwise runs to the deadline. A client or sink that
 * dies meanwhile, or a failed heal or restart, fails the experiment.
 */
export const watch: Task<ExperimentContext> = {
  name: 'watch',
  async setup({ spec, timeline, made, signal, progress }) {
    const client = need(made.client, 'client');
    const t0 = need(made.t0, 'T0');
    const { sink, pathReturn } = made;
    const deadlineAt = t0 + BigInt(Math.round(spec.deadlineMs * 1e6));
    const done = (): boolean => storyComplete(timeline.entries, spec);
    while (!done()) {
      const left = msBetween(now(), deadlineAt);
      if (left <= 0) break;
      const failed = pathReturn?.failure() ?? made.bed?.failed?.();
      if (failed) throw failed;
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
      if (sink?.hasExited() && !sinkMayDie(spec))
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
      checkAbort(signal);
    }
    if (!done()) timeline.mark({ type: 'deadline' });
    else await sleep(SETTLE_MS, signal);
    checkAbort(signal);
    // A heal or restart still pending would act on a finished experiment.
    await pathReturn?.stop();
    const failed = pathReturn?.failure();
    if (failed) throw failed;
  },
};

/**
 * Reads the testbed's counters for the experiment's window (before the client's FIN), then stops
 * the sending side first and lets what is in flight arrive before the receiving side.
 */
export const collect: Task<ExperimentContext> = {
  name: 'collect',
  async setup({ spec, timeline, made, progress }) {
    const bed = need(made.bed, 'testbed');
    const client = need(made.client, 'client');
    const { sink } = made;
    progress('collecting');
    made.counters = Object.fromEntries(await bed.readCounters());
    timeline.mark({
      type: 'stop',
      reason: storyComplete(timeline.entries, spec) ? 'complete' : 'deadline',
    });
    const [sender, receiver] =
      spec.workload.kind !== 'subscribe'
        ? [client, sink]
        : sink
          ? [sink, client]
          : [need(made.target, 'target'), client];
    sender.kill('SIGTERM');
    await within(sender.exited, 1000);
    await sleep(200);
    receiver?.kill('SIGTERM');
    // The result is computed from what had arrived by now, as teardown adds the processes' ends.
    made.entriesAtStop = timeline.entries.length;
  },
};
