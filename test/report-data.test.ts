/**
 * The HTML report's first screen as data, in-process: the banner and the heatmap on cells built
 * by hand (the numbers add up; the worst repetition shows; expectations count), and the colour
 * map (every verdict has a colour, symbol and words; a verdict without one fails here).
 * test/report.test.ts opens a real matrix's report in a browser.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { VERDICTS } from '../src/advise/predict.js';
import { cellsOf } from '../src/report/cells.js';
import { checkExpectations, parseExpectations } from '../src/report/expect.js';
import { bannerHtml, heatmapHtml, legendHtml } from '../src/report/overview-html.js';
import { bannerOf, heatmapOf } from '../src/report/overview.js';
import {
  SHOWN,
  VERDICT_STYLE,
  WORST_FIRST,
  verdictClass,
  verdictCss,
  worstOf,
  type Shown,
} from '../src/report/verdicts.js';
import type { ExperimentResult } from '../src/runner/experiment.js';
import type { MatrixRow } from '../src/runner/matrix.js';
import { formatMs } from '../src/util/duration.js';
import { specOf, type SpecOptions } from './helpers.js';

/** What one experiment measured; the rest of its result is neutral. */
type Measured = Partial<Pick<ExperimentResult, 'detect_ms' | 'verdict' | 'predicted_ms' | 'lost'>>;

function rowsOf(...entries: [SpecOptions, Measured | string][]): MatrixRow[] {
  return entries.map(([o, m], index) => {
    const spec = specOf({ deadlineMs: 12_000, ...o });
    if (typeof m === 'string') return { index, spec, error: m };
    const result = {
      detect_ms: null,
      lost: 0,
      stale_sent: 0,
      reconnect_ms: null,
      deadline_ms: spec.deadlineMs,
      predicted_ms: [2000, 3000],
      verdict: 'inside',
      timeline: [],
      ...m,
    } as unknown as ExperimentResult;
    return { index, spec, result };
  });
}

const HB = { strategy: 'heartbeat:interval=1s,timeout=2s', workload: 'publish:10' };
const NONE = { strategy: 'none', workload: 'publish:10' };

describe('the colour map', () => {
  it('every verdict, and error, has its own colour, symbol, words and rank', () => {
    // Walks the runtime list of verdicts: one added to VERDICTS without a style fails here.
    for (const v of [...VERDICTS, 'error'] as Shown[]) {
      const s = VERDICT_STYLE[v];
      assert.ok(s, `no style for '${v}'`);
      assert.match(s.background, /#[0-9a-f]{6}/, `${v}: a background`);
      assert.match(s.color, /^#[0-9a-f]{3,6}$/, `${v}: a text colour`);
      assert.ok(s.symbol.length > 0 && s.meaning.length > 10, `${v}: a symbol and its meaning`);
      assert.ok(verdictCss().includes(`.${verdictClass(v)}{background:${s.background}`), v);
    }
    assert.deepEqual([...SHOWN].sort(), [...VERDICTS, 'error'].sort());
    assert.deepEqual([...WORST_FIRST].sort(), [...SHOWN].sort(), 'each verdict ranked once');
    assert.equal(new Set(SHOWN.map((v) => VERDICT_STYLE[v].rank)).size, SHOWN.length);
    assert.equal(new Set(SHOWN.map(verdictClass)).size, SHOWN.length, 'distinct CSS classes');
    assert.equal(new Set(SHOWN.map((v) => VERDICT_STYLE[v].background)).size, SHOWN.length);
    // The legend lists every one as a coloured chip with its words.
    const legend = legendHtml();
    for (const v of SHOWN)
      assert.ok(legend.includes(`class="chip ${verdictClass(v)}" data-verdict="${v}"`), v);
  });

  it('the worst verdict wins: a miss over a late one, an error over all', () => {
    assert.equal(worstOf(['inside', 'late']), 'late');
    assert.equal(worstOf(['late', 'beyond deadline', 'inside']), 'beyond deadline');
    assert.equal(worstOf(['not detected', 'error']), 'error');
    assert.equal(worstOf(['inside', 'fault not in force']), 'fault not in force');
    assert.equal(worstOf([]), null);
  });
});

describe('the banner and the heatmap, on cells built by hand', () => {
  it('all well: says so, in green', () => {
    const cells = cellsOf(
      rowsOf([{ ...HB, fault: 'kill' }, { detect_ms: 8 }], [HB, { detect_ms: 2500 }]),
    );
    const b = bannerOf(cells);
    assert.equal(b.severity, 'ok');
    assert.equal(
      b.headline,
      'Every cell noticed the failure within its predicted window; nothing lost.',
    );
    assert.equal(b.numbers.slowest?.ms, 2500);
    assert.match(bannerHtml(cells), /data-k="undetected"><b class="n">0<\/b>/);
  });

  it('misses, late repetitions, losses, errors and a fault not in force add up', () => {
    const rows = rowsOf(
      [
        { ...NONE, fault: 'node-loss' },
        { verdict: 'beyond deadline', lost: 120 },
      ],
      [
        { ...NONE, fault: 'node-loss' },
        { verdict: 'beyond deadline', lost: 118 },
      ],
      [
        { ...HB, fault: 'node-loss' },
        { detect_ms: 2990, lost: 30 },
      ],
      [
        { ...HB, fault: 'node-loss' },
        { detect_ms: 4100, verdict: 'late', lost: 41 },
      ],
      [{ ...HB, fault: 'kill' }, 'target did not start'],
      [{ ...HB, fault: 'kill' }, { detect_ms: 9 }],
      [
        { ...NONE, fault: 'reset' },
        { detect_ms: null, verdict: 'fault not in force' },
      ],
      [
        { ...NONE, fault: 'reset' },
        { detect_ms: null, verdict: 'fault not in force' },
      ],
    );
    const cells = cellsOf(rows);
    const b = bannerOf(cells);
    assert.deepEqual(
      { ...b.numbers, slowest: b.numbers.slowest?.ms, mostLost: b.numbers.mostLost?.lost },
      {
        cells: 4,
        experiments: 8,
        undetected: 1,
        late: 1,
        early: 0,
        surprise: 0,
        lost: 309, // summed over the experiments, not the cells' medians
        failed: 1,
        notInForce: 1,
        expected: 0,
        expectMissed: 0,
        slowest: 4100,
        mostLost: 238, // tcp none under node-loss, both repetitions
      },
    );
    assert.match(b.numbers.slowest!.cell, /heartbeat.*publish:10, node-loss/);
    assert.equal(b.numbers.mostLost?.cell, 'tcp none, publish:10, node-loss');
    assert.equal(b.severity, 'error');
    assert.equal(
      b.headline,
      '1 cell never noticed the failure; 1 cell noticed it late; 309 messages lost; 1 experiment failed; 1 cell with the fault not in force.',
    );
    const undetected = b.items.find((i) => i.key === 'undetected')!;
    assert.equal(undetected.severity, 'bad');
    // Each tile shows the verdicts it counts, as the heatmap colours them.
    assert.deepEqual(Object.fromEntries(b.items.map((i) => [i.key, i.verdicts])), {
      undetected: [['beyond deadline', 1]],
      late: [['late', 1]],
      lost: [],
      slowest: [],
      failed: [['error', 1]],
      'not-in-force': [['fault not in force', 1]],
    });
    assert.match(
      bannerHtml(cells),
      /<span class="chip v-late" data-verdict="late">» late: 1<\/span>/,
    );
    assert.equal(
      undetected.text,
      'of 4 cells never noticed the failure within the 12 s deadline (in at least one repetition)',
    );

    // One row per client and workload, one column per fault, the worst repetition's colour.
    const m = heatmapOf(cells);
    assert.deepEqual(m.faults, ['node-loss', 'kill', 'reset']);
    assert.deepEqual(
      m.rows.map((r) => [r.client, r.sub, r.cells.map((c) => c?.worst ?? null)]),
      [
        ['tcp none', 'publish:10', ['beyond deadline', null, 'fault not in force']],
        ['tcp heartbeat:interval=1s,timeout=2s', 'publish:10', ['late', 'error', null]],
      ],
    );
    const late = m.rows[1]!.cells[0]!;
    assert.equal(late.verdict, 'late 1/2');
    assert.equal(late.detect, formatMs(2990), 'the median (nearest rank) of 2.99 s and 4.10 s');
    assert.match(late.title, /verdicts: inside 1\/2, late 1\/2/);
    assert.match(late.title, /predicted 2\.00 s - 3\.00 s/);
    assert.match(late.title, /lost median 30, total 71/);
    assert.equal(m.rows[0]!.cells[0]!.detect, 'none by 12 s');
    assert.match(m.rows[1]!.cells[1]!.title, /error: target did not start/);
    const html = heatmapHtml(cells);
    assert.equal(html.match(/<td class="hm /g)?.length, 6, '4 cells and 2 empty squares');
    assert.match(html, /<td class="hm v-late" data-client="tcp heartbeat[^"]*" data-workload/);
  });

  it('expectations: a tile and the headline say how many cells missed one; the square is marked', () => {
    const cells = cellsOf(
      rowsOf([{ ...HB, fault: 'kill' }, { detect_ms: 8 }], [HB, { detect_ms: 2500, lost: 25 }]),
    );
    for (const c of cells)
      c.expect = checkExpectations(parseExpectations('lost=0', '--expect'), c.results, c.errors);
    const b = bannerOf(cells);
    assert.deepEqual([b.numbers.expected, b.numbers.expectMissed, b.severity], [2, 1, 'bad']);
    assert.equal(b.items[0]?.text, 'of 2 cells given expectations missed one');
    assert.equal(b.headline, '1 cell missed an expectation; 25 messages lost.');
    const [kill, partition] = heatmapOf(cells).rows[0]!.cells;
    assert.deepEqual([kill?.expectMissed, partition?.expectMissed], [false, true]);
    assert.match(partition!.title, /expect lost=0: missed \(25\)/);
    assert.match(heatmapHtml(cells), /✗ expectation missed/);
  });

  it('a client and workload with two QoS levels are two rows', () => {
    const mqtt = { target: 'mqtt' as const, strategy: 'mqtt:keepalive=2s', workload: 'publish:10' };
    const m = heatmapOf(
      cellsOf(
        rowsOf(
          [{ ...mqtt, qos: 0 }, { detect_ms: 1900 }],
          [{ ...mqtt, qos: 1 }, { detect_ms: 1950 }],
        ),
      ),
    );
    assert.deepEqual(
      m.rows.map((r) => r.client),
      ['mqtt mqtt:keepalive=2s,reconnect=1s QoS 0', 'mqtt mqtt:keepalive=2s,reconnect=1s QoS 1'],
    );
  });
});
