/**
 * Every failure the lab can report, one class per mode. The CLI (and only the CLI) turns these
 * into a message line and an exit code; see `exitCodeFor`.
 */

/** The user asked for something that cannot be run: a flag, spec or value is wrong. Exit 2. */
export class BadInputError extends Error {
  override name = 'BadInputError';
}

/**
 * The machine cannot do what was asked, though the request itself is fine: not root, no network
 * namespaces, a missing tool, a port already in use, an output directory that cannot be written.
 * Exit 4: the fix is on the machine, not in the command line.
 */
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

/** The exit codes, one per kind of outcome, so that a pipeline can tell them apart (EXIT_MEANINGS). */
export const EXIT = {
  ok: 0,
  failed: 1,
  badInput: 2,
  missed: 3,
  environment: 4,
  interrupted: 130,
} as const;

/** What each exit code says, as the reference (docs/reference/exit-codes.md) prints it. */
export const EXIT_MEANINGS: Record<keyof typeof EXIT, string> = {
  ok: 'the command ran, and every expectation it was given was met (without expectations: whatever it found)',
  failed: 'the lab itself failed: building, faulting or tearing down a testbed',
  badInput:
    'bad input: a flag, spec, value or file is wrong; one line that quotes what was typed, and nothing was created',
  missed:
    'the command ran, but a result missed an expectation (`--expect`, `expect:`), `compare` found a regression beyond its tolerance, or `tune --verify` measured a setting that failed',
  environment:
    'this machine cannot do it: not root, a missing tool, a port in use, an output directory it cannot write',
  interrupted:
    'stopped by SIGINT or SIGTERM (Ctrl-C), after everything the run created was removed',
};

export function exitCodeFor(err: unknown): number {
  if (err instanceof BadInputError) return EXIT.badInput;
  if (err instanceof LabUnavailableError) return EXIT.environment;
  if (err instanceof InterruptedError) return EXIT.interrupted;
  return EXIT.failed;
}

/**
 * The Kubernetes API server cannot be used as asked: it does not answer, rejects the credentials,
 * or forbids what the run needs. A BadInputError (exit 2): the fix is the user's (another
 * `--context`, a fresh login, the lab's RBAC), not the lab's.
 */
export class ClusterAccessError extends BadInputError {
  override name = 'ClusterAccessError';
}
