/**
 * docs/reference/cli.md: every command's `--help`, from the commander program main.ts runs,
 * rendered 80 columns wide without colour whatever the terminal.
 */
import type { Command } from 'commander';
import { buildProgram } from '../cli/program.js';
import { anchor, block, document, item, wrap } from './markdown.js';

/** The width help is rendered at, so that the reference does not depend on the terminal. */
export const HELP_WIDTH = 100;

/** What `<command> --help` prints, at `HELP_WIDTH` columns and without colour. */
export function helpOf(cmd: Command): string {
  let out = '';
  cmd.configureOutput({
    writeOut: (s) => (out += s),
    getOutHelpWidth: () => HELP_WIDTH,
    getOutHasColors: () => false,
  });
  cmd.outputHelp();
  return out;
}

/** `halfopen proxy serve`, as typed. */
const fullName = (cmd: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

/** The commands a user can type, depth first (hidden ones, the lab's own entry points, left out). */
function commands(cmd: Command): Command[] {
  const visible = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  return visible.flatMap((c) => [c, ...commands(c)]);
}

/** The page for `program`: the program main.ts runs unless a test gives another. */
export function cliReference(
  program: Command = buildProgram(new AbortController().signal, { portable: true }),
): string {
  const all = commands(program);
  const heading = (c: Command): string => `${c.parent === program ? '##' : '###'} ${fullName(c)}`;
  return document([
    '# Command line reference',
    wrap(
      `Every command's \`--help\`, as halfopen prints it at ${HELP_WIDTH} columns. Where a default depends on the machine (how many experiments run at once), its rule is given instead of a number.`,
    ),
    all
      .map((c) =>
        item(
          `[${fullName(c)}](#${anchor(fullName(c))}): ${c.description()}`,
          c.parent === program ? 0 : 1,
        ),
      )
      .join('\n'),
    '## halfopen',
    block(helpOf(program)),
    ...all.flatMap((c) => [heading(c), block(helpOf(c))]),
  ]);
}
