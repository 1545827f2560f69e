/**
 * `halfopen compare` on real runs. Inputs are made here: experiments through the proxy testbed
 * (no root, a few seconds each), a TCP publisher with an application heartbeat partitioned by a
 * blackhole, once with a 1 s heartbeat (detects in (2 s, 3 s]) and once with a 3 s one (detects in
 * (6 s, 9 s]), and a small matrix. The gap between the two windows is at least 3 s, so "slower
 * beyond 20 % and 250 ms" holds however late a loaded 2-core machine makes either detection.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toleranceFromFlags } from '../src/cli/compare.js';
import { compareSides, parseMatch, regressionsOf } from '../src/report/compare.js';
import { loadSide } from '../src/report/compare-load.js';
import { renderCompareHtml } from '../src/report/compare-html.js';
import { assertBadInput, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'halfopen-test-compare-'));
const FAST = 'heartbeat:interval=1s,timeout=2s';
const SLOW = 'heartbeat:interval=3s,timeout=6s';

/** `halfopen run --testbed proxy --fault partition --workload publish:10 ...` into `dir/name`. */
async function run(name: string, args: string[]): Promise<string> {
  const out = join(dir, name);
  const r = await runCli([
    'run',
    '--testbed',
    'proxy',
    '--fault',
    'partition',
    '--workload',
    'publish:10',
    ...args,
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

const SCENARIO = `name: compare test
clients:
  - target: tcp
    strategies: ['${FAST}']
workloads: [publish:10]
faults: [partition, kill]
testbeds: [proxy]
deadline: 10s
`;

describe('halfopen compare', () => {
  let fast = '';
  let slow = '';
  let short = '';
  let matrix = '';
  before(async () => {
    writeFileSync(join(dir, 'scenario.yaml'), SCENARIO);
    matrix = join(dir, 'matrix');
    [fast, slow, short] = await Promise.all([
      run('fast', ['--strategy', FAST]),
      run('slow', ['--strategy', SLOW]),
      // The window opens at 6 s, after this deadline: not detected, 'beyond deadline'.
      run('short', ['--strategy', SLOW, '--deadline', '4s']),
      runCli([
        'matrix',
        join(dir, 'scenario.yaml'),
        '--parallel',
        '4',
        '--out',
        matrix,
        '--json',
      ]).then((r) => assert.equal(r.code, 0, r.stderr)),
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('two runs with different settings: exit 3 and one line naming the regression', async () => {
    const r = await runCli(['compare', fast, slow]);
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /^ {2}tcp \(heartbeat:interval=1s,timeout=2s -> heartbeat:interval=3s,timeout=6s\) publish:10 partition \(proxy\): detection \d\.\d\d s -> \d\.\d\d s \(\+\d+ %, tolerance 20 % and 250 ms\)$/m,
    );
    // Their identities differ, and the output says so, showing both.
    assert.match(r.stdout, /compared though their identities differ/);
    assert.match(r.stdout, /before: tcp heartbeat:interval=1s,timeout=2s publish:10 partition/);
    assert.match(r.stdout, /after: {2}tcp heartbeat:interval=3s,timeout=6s publish:10 partition/);
    // The other way round it is an improvement, not a regression.
    const back = await runCli(['compare', slow, fast]);
    assert.equal(back.code, 0, back.stdout);
    assert.match(back.stdout, /improvements \(\d\):\n {2}.*: detection \d\.\d\d s -> \d\.\d\d s/);
  });

  it('a run compared with itself: exit 0, no regressions', async () => {
    const r = await runCli(['compare', join(fast, 'result.json'), fast]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^no regressions, 0 improvements$/m);
    assert.doesNotMatch(r.stdout, /identities differ/);
  });

  it('--json: both sides, each cell with both values and deltas, the regressions', async () => {
    const r = await runCli(['compare', fast, slow, '--json']);
    assert.equal(r.code, 3);
    const j = r.json<{
      before: { kind: string; path: string };
      cells: {
        identity_differs: boolean;
        before: { strategy: string; detect_ms: { p50: number } };
        after: { strategy: string; detect_ms: { p50: number } };
        deltas: { detect_p50: { delta: number; pct: number } };
      }[];
      regressions: { what: string; line: string }[];
    }>();
    assert.equal(j.before.kind, 'run');
    assert.equal(j.before.path, fast);
    assert.equal(j.cells.length, 1);
    const c = j.cells[0]!;
    assert.equal(c.identity_differs, true);
    assert.equal(c.before.strategy, FAST);
    assert.equal(c.after.strategy, SLOW);
    const detect = (d: string): number =>
      (JSON.parse(readFileSync(join(d, 'result.json'), 'utf8')) as { detect_ms: number }).detect_ms;
    assert.equal(c.before.detect_ms.p50, detect(fast));
    assert.equal(c.after.detect_ms.p50, detect(slow));
    assert.ok(Math.abs(c.deltas.detect_p50.delta - (detect(slow) - detect(fast))) < 1e-6);
    assert.ok(c.deltas.detect_p50.pct > 20, JSON.stringify(c.deltas));
    assert.ok(j.regressions.some((f) => f.what === 'detection'));
  });

  it('not detected by the deadline: fewer detections and a worse verdict', () => {
    const c = compareSides(loadSide(fast), loadSide(short));
    const cell = c.cells[0]!;
    assert.equal(cell.after!.detected, 0);
    assert.deepEqual(cell.after!.verdicts, { 'beyond deadline': 1 });
    const what = regressionsOf(c).map((f) => f.what);
    assert.ok(what.includes('detected'), what.join());
    assert.ok(what.includes('verdict'), what.join());
    assert.deepEqual(cell.verdict_change, {
      before: 'inside',
      after: 'beyond deadline',
      worse: true,
    });
  });

  it('tolerances: a slower detection counts only beyond both the percentage and the floor', () => {
    const [b, a] = [loadSide(fast), loadSide(slow)];
    const detections = (t: Parameters<typeof compareSides>[3]): number =>
      regressionsOf(compareSides(b, a, undefined, t)).filter((f) => f.what === 'detection').length;
    assert.equal(detections(toleranceFromFlags({})), 1);
    assert.equal(detections(toleranceFromFlags({ tolerance: '1000' })), 0, 'within 1000 %');
    assert.equal(detections(toleranceFromFlags({ toleranceMs: '1m' })), 0, 'within 1 min');
    // More lost than before beyond --loss-tolerance (the loss itself varies run to run).
    const lost = compareSides(b, a).cells[0]!.deltas!.lost.delta!;
    const lossFindings = (n: number): number =>
      regressionsOf(compareSides(b, a, undefined, toleranceFromFlags({ lossTolerance: `${n}` })))
        .length;
    if (lost > 0) assert.ok(lossFindings(lost) < lossFindings(lost - 1));
  });

  it('a matrix: cells matched by identity, a cell on one side listed; --match', async () => {
    const self = await runCli(['compare', matrix, join(matrix, 'summary.json')]);
    assert.equal(self.code, 0, self.stdout);
    assert.match(self.stdout, /^after {3}.*matrix "compare test", 2 cells, 2 experiments/m);
    // The matrix's partition cell is the same question as the fast run; its kill cell is not.
    const c = compareSides(loadSide(matrix), loadSide(fast));
    assert.equal(c.cells.length, 2);
    const paired = c.cells.filter((x) => x.before && x.after);
    assert.equal(paired.length, 1);
    assert.equal(paired[0]!.identity_differs, false);
    assert.equal(paired[0]!.before!.fault_label, 'partition');
    assert.equal(c.cells.filter((x) => !x.after).length, 1, 'the kill cell, only before');
    const text = await runCli(['compare', matrix, fast]);
    assert.match(
      text.stdout,
      /^tcp heartbeat:interval=1s,timeout=2s publish:10 kill \(proxy\) {2}\(only before\)$/m,
    );
    // Fewer fields to match: both of the matrix's cells are alike, which is said, not guessed.
    await assertBadInput(
      () => compareSides(loadSide(matrix), loadSide(fast), parseMatch('target,workload')),
      /--match target,workload, 2 cells of '.*matrix' are alike .*: add fields to --match/,
    );
  });

  it('bad inputs: one line quoting the path as typed', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'not json');
    writeFileSync(join(dir, 'v9.json'), '{"schema": "halfopen.summary/9", "cells": []}');
    writeFileSync(join(dir, 'other.json'), '{"hello": 1}');
    await assertBadInput(() => loadSide('no/such/run'), /'no\/such\/run' does not exist/);
    await assertBadInput(() => loadSide(join(dir, 'notes.txt')), /notes\.txt' is not JSON/);
    await assertBadInput(
      () => loadSide(join(dir, 'v9.json')),
      /v9\.json' has schema "halfopen.summary\/9"; this halfopen reads halfopen.summary\/1/,
    );
    await assertBadInput(() => loadSide(join(dir, 'other.json')), /other\.json' is neither/);
    await assertBadInput(() => loadSide(tmpdir()), /holds neither summary.json .* nor result.json/);
    await assertBadInput(
      () => parseMatch('target,colour'),
      /--match: 'colour' is not a cell field/,
    );
    await assertBadInput(() => toleranceFromFlags({ tolerance: 'lots' }), /--tolerance 'lots'/);
    await assertBadInput(() => toleranceFromFlags({ lossTolerance: '-1' }), /--loss-tolerance/);
    await assertBadInput(() => toleranceFromFlags({ toleranceMs: 'soon' }), /--tolerance-ms/);
  });

  it('--html: one self-contained page, the regression and the verdict change highlighted', async () => {
    const page = join(dir, 'compare.html');
    const r = await runCli(['compare', fast, short, '--html', page]);
    assert.equal(r.code, 3);
    const html = readFileSync(page, 'utf8');
    assert.equal(html, renderCompareHtml(compareSides(loadSide(fast), loadSide(short))));
    assert.doesNotMatch(html, /<script|<link|src=|url\(|https?:/, 'nothing fetched');
    assert.match(html, /<td class="vworse">beyond deadline<\/td>/);
    assert.match(html, /<ul class="regressions"><li>tcp .*: detected 1\/1 -&gt; 0\/1<\/li>/);
  });
});
