/**
 * The gate a pipeline runs: each cell's expectations checked against its results, a few lines
 * naming every miss, and JUnit XML (one test case per cell) for CI systems that read it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import junitModule, { type Builder } from 'junit-report-builder';
import type { Cell } from './cells.js';
import { checkExpectations, type Expectation, type ExpectOutcome } from './expect.js';
import { formatMs } from '../util/duration.js';
import { verdictText } from './cells.js';

// The package is CommonJS whose module.exports is the builder; its types declare it as `default`.
const junit = junitModule as unknown as Builder;

/**
 * Fills each cell's `expect` from the expectations of its rows (by experiment index). Rows of one
 * cell normally share theirs; where they differ (one client listed twice), all of them apply.
 */
export function judgeCells(
  cells: Cell[],
  expectOf: (index: number) => readonly Expectation[],
): void {
  for (const cell of cells) {
    const exps: Expectation[] = [];
    for (const i of cell.indexes)
      for (const e of expectOf(i)) if (!exps.some((x) => x.text === e.text)) exps.push(e);
    cell.expect = checkExpectations(exps, cell.results, cell.errors);
  }
}

export const missedCells = (cells: readonly Cell[]): Cell[] =>
  cells.filter((c) => c.expect.some((e) => !e.met));

const misses = (outcomes: readonly ExpectOutcome[]): string =>
  outcomes
    .filter((e) => !e.met)
    .map((e) => `${e.expect} (was ${e.actual})`)
    .join('; ');

/** `nats nats:ping=1s,maxout=2 publish:10, partition healed at 6 s` */
export const cellName = (c: Cell): string => `${c.client} ${c.workload}, ${c.faultLabel}`;

/**
 * The lines printed under the table: nothing when no expectation was given; else how many cells
 * met theirs, and one line per cell that missed, saying what it missed and what was measured.
 */
export function renderGate(cells: readonly Cell[]): string {
  const judged = cells.filter((c) => c.expect.length > 0);
  if (judged.length === 0) return '';
  const missed = missedCells(judged);
  if (missed.length === 0)
    return `expectations: all met in ${judged.length} cell${judged.length === 1 ? '' : 's'}`;
  return [
    `expectations: missed in ${missed.length} of ${judged.length} cell${judged.length === 1 ? '' : 's'}`,
    ...missed.map((c) => `  MISSED ${cellName(c)}: ${misses(c.expect)}`),
  ].join('\n');
}

/**
 * JUnit XML: one test suite (the scenario), one test case per cell, named by the cell. A case
 * fails when an expectation was missed, and is an error when every repetition failed to run; its
 * output holds what was measured.
 */
export function writeJunit(path: string, suiteName: string, cells: readonly Cell[]): void {
  const builder = junit.newBuilder().name('halfopen');
  const suite = builder.testSuite().name(suiteName);
  for (const c of cells) {
    const tc = suite
      .testCase()
      .className(`halfopen.${c.testbed}.${c.target}`)
      .name(`${c.strategy} ${c.workload}${c.qos === null ? '' : ` QoS ${c.qos}`}, ${c.faultLabel}`);
    const measured = [
      `verdict ${verdictText(c)}`,
      `detected ${c.detected}/${c.runs}${c.detect ? `, p50 ${formatMs(c.detect.p50)}, max ${formatMs(c.detect.max)}` : ''}`,
      c.lost ? `lost max ${c.lost.max}` : null,
      c.reconnect ? `reconnect p50 ${formatMs(c.reconnect.p50)}` : null,
      ...c.expect.map((e) => `${e.met ? 'met' : 'MISSED'} ${e.expect}: ${e.actual}`),
    ].filter((x): x is string => x !== null);
    tc.standardOutput(measured.join('\n'));
    if (c.results.length === 0 && c.errors.length > 0)
      tc.error(`no repetition ran: ${c.errors[0]}`, 'ExperimentError');
    else if (c.expect.some((e) => !e.met)) tc.failure(misses(c.expect), 'ExpectationMissed');
  }
  mkdirSync(dirname(path), { recursive: true });
  builder.writeTo(path);
}
