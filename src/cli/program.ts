/**
 * The halfopen command line as a commander program, built but not run: main.ts parses the
 * process's arguments with it, and the reference (src/docs/) renders every command's help from it.
 */
import { Command } from 'commander';
import { BadInputError, EXIT } from '../errors.js';
import { jsonError, refuseRepeatedFlags } from './strict.js';
import { addCleanupCommand } from './cleanup.js';
import { addCompareCommand } from './compare.js';
import { HALFOPEN_VERSION } from './version.js';
import { addK8sCommands } from './k8s.js';
import { addMatrixCommands } from './matrix-command.js';
import { addProxyCommands } from './proxy-command.js';
import { addRunCommand } from './run-command.js';
import { addShowCommand } from './show.js';
import { addTuneCommand } from './tune-command.js';

export interface ProgramOptions {
  /** `--json` was given: a failure is also one JSON object on stdout, where the caller reads. */
  json?: boolean;
  /**
   * Help that does not depend on this machine (the reference): defaults computed from its cores
   * and memory are given as their rule, without this machine's number.
   */
  portable?: boolean;
}

export function buildProgram(signal: AbortSignal, opts: ProgramOptions = {}): Command {
  const program = new Command('halfopen')
    .description(
      'Measure how long clients take to notice connections that die without FIN or RST, what they lose, and how they recover.',
    )
    .version(HALFOPEN_VERSION, '--version', "print halfopen's version")
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => {
        const line = str.replace(/^error: /, '').trim();
        if (opts.json) process.stdout.write(jsonError(new BadInputError(line), EXIT.badInput));
        write(`halfopen: ${line}\n`);
      },
    })
    .showHelpAfterError(false)
    .showSuggestionAfterError(false);

  addRunCommand(program, signal);
  addMatrixCommands(program, signal, opts.portable === true);
  addTuneCommand(program, signal);
  addProxyCommands(program, signal);
  addCleanupCommand(program);
  addCompareCommand(program);
  addShowCommand(program);
  addK8sCommands(program, signal);
  refuseRepeatedFlags(program);
  return program;
}
