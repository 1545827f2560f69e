/**
 * A small task runner: an experiment is a list of steps, each of which may create something (a
 * testbed, a process, a scheduled heal) and registers how to undo it on one shared teardown
 * stack *before* creating it. The steps run in order; the stack is unwound in reverse whether
 * they all succeed, one fails or the run is aborted, and always only after the step in flight has
 * returned: a step still creating things while teardown runs would leave them behind.
 */
import { InterruptedError, LabError, TeardownError } from '../../errors.js';
import type { Teardowns } from '../../util/teardown.js';

export interface Task<C> {
  /** What the step does, for errors and tests. */
  readonly name: string;
  /**
   * Does the step. Contract: register the teardown of anything it is about to create before
   * creating it; return (or throw) only once nothing it started is still creating anything; and
   * watch the run's abort signal in its waits, so an abort ends it promptly.
   */
  setup(ctx: C): Promise<void>;
}

export interface TaskRunOptions {
  teardowns: Teardowns;
  signal: AbortSignal;
  /** Called once, just before the teardown stack is unwound. */
  onTeardown?: () => void;
}

/** Runs `tasks` in order, then the teardowns in reverse; throws the first failure, if any. */
export async function runTasks<C>(
  tasks: readonly Task<C>[],
  ctx: C,
  { teardowns, signal, onTeardown }: TaskRunOptions,
): Promise<void> {
  let failure: Error | undefined;
  try {
    for (const task of tasks) {
      if (signal.aborted) throw new InterruptedError();
      await task.setup(ctx);
    }
  } catch (err) {
    // After an abort a step fails however it happens to notice (a wait cut short, a process
    // killed): that is the interruption, not a failure of its own.
    failure = signal.aborted
      ? new InterruptedError()
      : err instanceof Error
        ? err
        : new LabError(String(err));
  }
  onTeardown?.();
  const leftovers = await teardowns.runAll();
  if (leftovers.length > 0) throw new TeardownError(failure, leftovers);
  if (failure !== undefined) throw failure;
}
