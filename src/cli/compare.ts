/** `halfopen compare <before> <after>`: two runs or matrices, cell by cell; exit 3 on a regression. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BadInputError, EXIT, LabUnavailableError } from '../errors.js';
import {
  compareSides,
  DEFAULT_TOLERANCE,
  IDENTITY_FIELDS,
  parseMatch,
  regressionsOf,
  type Tolerance,
} from '../report/compare.js';
import { loadSide } from '../report/compare-load.js';
import { renderCompareHtml } from '../report/compare-html.js';
import { comparisonJson, renderComparison } from '../report/compare-text.js';
import { formatMs, parseDuration } from '../util/duration.js';

export interface CompareFlags {
  match?: string;
  tolerance?: string;
  toleranceMs?: string;
  lossTolerance?: string;
  json?: boolean;
  html?: string;
}

/** The flags' tolerances; bad values are one line each. */
export function toleranceFromFlags(f: CompareFlags): Tolerance {
  const t = { ...DEFAULT_TOLERANCE };
  if (f.tolerance !== undefined) {
    const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(f.tolerance.trim());
    if (!m) throw new BadInputError(`--tolerance '${f.tolerance}' must be a percentage, e.g. 20`);
    t.pct = Number(m[1]);
  }
  if (f.toleranceMs !== undefined) t.ms = parseDuration(f.toleranceMs, '--tolerance-ms');
  if (f.lossTolerance !== undefined) {
    if (!/^\d+$/.test(f.lossTolerance.trim()))
      throw new BadInputError(
        `--loss-tolerance '${f.lossTolerance}' must be a whole number of messages, e.g. 0`,
      );
    t.loss = Number(f.lossTolerance);
  }
  return t;
}

export function compareCommand(beforePath: string, afterPath: string, f: CompareFlags): void {
  const match = parseMatch(f.match);
  const tolerance = toleranceFromFlags(f);
  const comparison = compareSides(loadSide(beforePath), loadSide(afterPath), match, tolerance);
  if (f.html !== undefined) {
    try {
      writeFileSync(f.html, renderCompareHtml(comparison));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new LabUnavailableError(`compare: cannot write --html ${f.html} (${code})`);
    }
  }
  if (f.json) process.stdout.write(`${JSON.stringify(comparisonJson(comparison))}\n`);
  else
    process.stdout.write(
      `${renderComparison(comparison)}${f.html !== undefined ? `\nreport   ${f.html}` : ''}\n`,
    );
  if (regressionsOf(comparison).length > 0) process.exitCode = EXIT.missed;
}

export function addCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'compare two runs or matrices cell by cell: detection, loss, reconnect, verdicts; exit 3 on a regression',
    )
    .argument(
      '<before>',
      'the baseline: summary.json, a matrix directory, result.json or a run directory',
    )
    .argument('<after>', 'the same kinds, to judge against the baseline')
    .option(
      '--match <fields>',
      `which cell fields must agree for two cells to be compared (some of ${IDENTITY_FIELDS.join(',')}; default all)`,
    )
    .option(
      '--tolerance <pct>',
      `a slower detection p50 or reconnect counts when it exceeds this percentage of before (default ${DEFAULT_TOLERANCE.pct})`,
    )
    .option(
      '--tolerance-ms <duration>',
      `...and this absolute floor too (default ${formatMs(DEFAULT_TOLERANCE.ms).replace(' ', '')})`,
    )
    .option(
      '--loss-tolerance <n>',
      `more messages lost (median) than before by more than this counts (default ${DEFAULT_TOLERANCE.loss})`,
    )
    .option('--json', 'print one JSON object: both sides, every cell with its deltas, the findings')
    .option('--html <file>', 'also write the comparison as one self-contained HTML page')
    .addHelpText(
      'after',
      `
Cells are matched by testbed, target, strategy, workload, QoS and fault (with its heal or
restart); a cell on one side only is listed. When each side holds exactly one cell (two single
runs), they are compared whatever their identities, and the output says how they differ.

A regression: a cell detected in fewer of its repetitions; its worst verdict got worse (best to
worst: inside, early, not detected (as predicted), measured (no prediction) < late < beyond
deadline < not detected < detected (predicted never) < fault not in force); its detection p50 or
reconnect p50 slower by more than both tolerances; more messages lost beyond --loss-tolerance;
or no result at all where there was one. Improvements are the same the other way.

Exit codes: 0 no regression, 3 at least one (each named in one line), 2 bad input.

Examples:
  halfopen compare halfopen-runs/matrix-a halfopen-runs/matrix-b
  halfopen compare baseline/result.json candidate/result.json --tolerance 10 --tolerance-ms 100ms
  halfopen compare before/summary.json after/summary.json --match target,fault,workload --json
  halfopen compare before after --html compare.html`,
    )
    .action((before: string, after: string, flags: CompareFlags) =>
      compareCommand(before, after, flags),
    );
}
