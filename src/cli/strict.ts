/**
 * What commander lets pass and a user would not expect: a single-value flag given twice (the last
 * one silently won), and errors that a `--json` caller cannot parse.
 */
import type { Command } from 'commander';
import { BadInputError, EXIT, InterruptedError, LabUnavailableError } from '../errors.js';

/**
 * Refuses a flag that takes one value when it is given twice (`--heal 5s --heal 8s`): which one
 * was meant is not ours to guess. Flags that collect (`--sysctl`, `--expect`: an array default)
 * may repeat. Applied to every command below `cmd`.
 */
export function refuseRepeatedFlags(cmd: Command): void {
  for (const opt of cmd.options) {
    const takesValue = opt.required || opt.optional;
    if (!takesValue || opt.variadic || Array.isArray(opt.defaultValue)) continue;
    let first: string | undefined;
    cmd.on(`option:${opt.name()}`, (value: unknown) => {
      const text = String(value);
      if (first !== undefined)
        throw new BadInputError(
          `${opt.long ?? opt.flags} given twice ('${first}', then '${text}'): give it once`,
        );
      first = text;
    });
  }
  for (const sub of cmd.commands) refuseRepeatedFlags(sub);
}

/** `--json` among the arguments (before a `--`): errors are printed as JSON on stdout too. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

const KINDS: [new (...a: never[]) => Error, string][] = [
  [BadInputError, 'bad_input'],
  [LabUnavailableError, 'environment'],
  [InterruptedError, 'interrupted'],
];

/** One line of JSON for a machine: `{"error": {"message", "kind", "exit_code"}}`. */
export function jsonError(err: unknown, exitCode: number): string {
  const message = err instanceof Error ? err.message : String(err);
  const kind =
    exitCode === EXIT.badInput
      ? 'bad_input'
      : (KINDS.find(([cls]) => err instanceof cls)?.[1] ?? 'lab_failure');
  return `${JSON.stringify({ error: { message, kind, exit_code: exitCode } })}\n`;
}
