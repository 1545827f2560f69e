/** The flags and help that turn a run into a gate: `--expect`, `--junit`, and the exit codes. */
import type { Command } from 'commander';
import { expectHelp } from '../report/expect.js';

/** `run` judges its one result; `matrix` and `demo` every cell. */
export function addGateOptions(cmd: Command, single = false): Command {
  return cmd
    .option(
      '--expect <clauses>',
      `what ${single ? 'the result' : 'every cell'} must show, e.g. "detect<=15s,lost=0" (repeatable; see below); a miss exits 3`,
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--junit <file>',
      `also write JUnit XML, ${single ? 'the result as one test case' : 'one test case per cell'}, for CI`,
    );
}

export const EXPECT_HELP = `Expectations (--expect, or expect: in a scenario file): <measurement>[.stat]<op><value>,
comma-separated. Every repetition must meet a clause, or with .p50, .p95 or .max that statistic
of the repetitions. Operators: <= < >= > = != (a verdict takes = and != with alternatives a|b).
${expectHelp}
  e.g. --expect 'detect<=15s,lost=0' --expect 'verdict=inside|early' --expect reconnect.p95<=2s`;

export const EXIT_CODES_HELP = `Exit codes: 0 ran, and every expectation was met; 3 ran, and an expectation was missed;
2 bad input (one line; nothing created); 4 this machine cannot (not root, a missing tool, a port
in use, an output directory it cannot write); 1 the lab failed; 130 interrupted.`;
