/** The fault (T0), and the path's return scheduled from it: a heal, or the target's restart. */
import { LabError } from '../../errors.js';
import { msBetween, now, sleep } from '../../util/clock.js';
import { need, type ExperimentContext } from './context.js';
import { restartTarget } from './target.js';
import type { Task } from './task.js';

/**
 * Binds the fault to the client's connection and applies it. What it changes on the path (rules,
 * toxics) the testbed registers for teardown before changing it.
 */
export const fault: Task<ExperimentContext> = {
  name: 'fault',
  async setup({ spec, timeline, made, progress, signal }) {
    const bed = need(made.bed, 'testbed');
    made.fault = await bed.bindFault({
      spec,
      signal,
      // The target of the moment: a restart replaces it.
      target: () => need(made.target, 'target'),
      mark: (e) => void timeline.mark(e),
    });
    progress(`applying ${spec.fault}`);
    await made.fault.apply();
    made.t0 = timeline.find((e) => e.src === 'lab' && e.type === 'fault' && e.phase === 'start')?.t;
    if (made.t0 === undefined) throw new LabError(`fault ${spec.fault} marked no start (T0)`);
  },
};

/**
 * Schedules the path's return at its time from T0: the heal of a partition, or the target's
 * restart. Its teardown, registered before it is scheduled, stops it at its next step and waits
 * for it, so on every way out (done, error, abort) nothing it starts outlives the run.
 */
export const pathReturn: Task<ExperimentContext> = {
  name: 'return',
  setup(ctx) {
    const { spec, made, teardowns } = ctx;
    const boundFault = need(made.fault, 'fault');
    const t0 = need(made.t0, 'T0');
    let at: number;
    let run: (signal: AbortSignal) => Promise<void>;
    if (spec.healMs !== null) {
      const heal = boundFault.heal;
      if (!heal)
        throw new LabError(`fault ${spec.fault} cannot heal on the ${spec.testbed} testbed`);
      at = spec.healMs;
      run = () => heal();
    } else if (spec.restartMs !== null) {
      at = spec.restartMs;
      run = (signal) => restartTarget(ctx, signal);
    } else return Promise.resolve();
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    let failure: Error | undefined;
    let pending: Promise<void> = Promise.resolve();
    const halt = async (): Promise<void> => {
      stop.abort();
      await pending;
    };
    teardowns.defer(`stop the ${spec.healMs !== null ? 'heal' : 'restart'}`, halt);
    pending = (async () => {
      await sleep(at - msBetween(t0, now()), signal);
      if (!signal.aborted) await run(signal);
    })().catch((err: unknown) => {
      // Cut short by the deadline or the run's end: not a failure of the lab.
      if (!signal.aborted) failure = err instanceof Error ? err : new LabError(String(err));
    });
    made.pathReturn = { failure: () => failure, stop: halt };
    return Promise.resolve();
  },
};
