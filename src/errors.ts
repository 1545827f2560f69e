/**
 * Every failure the lab can report, one class per mode. The CLI (and only the CLI) turns these
 * into a message line and an exit code; see `exitCodeFor`.
 */

/** The user asked for something that cannot be run: a flag, spec or value is wrong. Exit 2. */
export class BadInputError extends Error {
  override name = 'BadInputError';
}

/** The machine cannot host this testbed (not root, no netns, a missing tool). Exit 1. */
export class LabUnavailableError extends Error {
  override name = 'LabUnavailableError';
}

/** The lab itself failed while building, faulting or tearing down a testbed. Exit 1. */
export class LabError extends Error {
  override name = 'LabError';
}

/** A system tool the lab spawned exited non-zero. */
export class CommandError extends LabError {
  override name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(
      `${argv.join(' ')} failed (exit ${code ?? 'signal'}): ${stderr.trim().split('\n')[0] ?? ''}`,
    );
  }
}

/** A process of the experiment (client or target) did not reach the state we waited for. */
export class ProcessError extends LabError {
  override name = 'ProcessError';
}

/** The run was stopped by SIGINT/SIGTERM; teardown has run. Exit 130. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(readonly signal: NodeJS.Signals = 'SIGINT') {
    super(`interrupted by ${signal}; everything the run created was removed`);
  }
}

/**
 * Teardown failed to remove something the run created (`halfopen cleanup` removes it). Never
 * reported as a plain interruption: after Ctrl-C the user is told that everything the run created
 * was removed only when it was. Exit 1.
 */
export class TeardownError extends LabError {
  override name = 'TeardownError';
  constructor(
    /** Why the run stopped before teardown, if it did not simply finish. */
    before: Error | undefined,
    /** Each teardown that failed, with its error. */
    readonly leftovers: readonly string[],
  ) {
    const why =
      before === undefined
        ? ''
        : before instanceof InterruptedError
          ? 'interrupted; '
          : `${before.message}; `;
    super(`${why}teardown failed: ${leftovers.join('; ')} (halfopen cleanup removes what is left)`);
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof BadInputError) return 2;
  if (err instanceof InterruptedError) return 130;
  return 1;
}

/**
 * The Kubernetes API server cannot be used as asked: it does not answer, rejects the credentials,
 * or forbids what the run needs. A BadInputError (exit 2): the fix is the user's (another
 * `--context`, a fresh login, the lab's RBAC), not the lab's.
 */
export class ClusterAccessError extends BadInputError {
  override name = 'ClusterAccessError';
}
