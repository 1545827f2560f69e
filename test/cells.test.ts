/**
 * A matrix's rows grouped into the report's cells (src/report/cells.ts), in-process: rows built
 * by hand, checked for what a user reads in the table, summary.json and the report — which runs
 * count as one question, how their repetitions add up, and how errors and disagreement show.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Verdict } from '../src/advise/predict.js';
import { cellsOf, predictedText, stats, verdictText, type Cell } from '../src/report/cells.js';
import { renderTable } from '../src/report/table.js';
import type { ExperimentResult } from '../src/runner/experiment.js';
import type { MatrixRow } from '../src/runner/matrix.js';
import { formatStrategy, type ExperimentSpec } from '../src/scenario/spec.js';
import { specOf, type SpecOptions } from './helpers.js';

/** What one experiment measured; only what the cells read is given per test. */
type Measured = Partial<
  Pick<
    ExperimentResult,
    'detect_ms' | 'verdict' | 'predicted_ms' | 'lost' | 'stale_sent' | 'reconnect_ms'
  >
>;

function resultOf(spec: ExperimentSpec, m: Measured): ExperimentResult {
  return {
    detect_ms: null,
    detect_reason: null,
    stale_sent: 0,
    lost: 0,
    duplicates: 0,
    sent: 0,
    received: 0,
    reconnect_ms: null,
    false_disconnects: 0,
    heal_at_ms: null,
    lost_from: 'accepted',
    testbed: spec.testbed,
    target: spec.target,
    target_version: 'test',
    client: 'test',
    strategy: formatStrategy(spec.strategy),
    workload: 'idle',
    qos: spec.target === 'mqtt' ? spec.qos : null,
    fault: spec.fault,
    heal_ms: spec.healMs,
    restart_ms: spec.restartMs,
    latency: null,
    idle_timeout: null,
    deadline_ms: spec.deadlineMs,
    sysctls: {},
    predicted_ms: null,
    predicted_why: '',
    verdict: 'not detected',
    wire: {},
    sockopts: {},
    fault_apply_ms: null,
    allowance_ms: null,
    timer_lateness_ms: null,
    flow: null,
    fault_params: {},
    kube: null,
    events: [],
    timeline: [],
    ...m,
  };
}

/** Matrix rows in order: a spec and what it measured, or the error it ended with. */
function rowsOf(...entries: [SpecOptions, Measured | string][]): MatrixRow[] {
  return entries.map(([o, m], index) => {
    const spec = specOf(o);
    return typeof m === 'string'
      ? { index, spec, error: m }
      : { index, spec, result: resultOf(spec, m) };
  });
}

const HB = { strategy: 'heartbeat:interval=1s,timeout=2s', workload: 'publish:10' };
const inside = (detect_ms: number, more: Measured = {}): Measured => ({
  detect_ms,
  verdict: 'inside',
  predicted_ms: [2000, 3000],
  ...more,
});
const verdicts = (c: Cell): [Verdict, number][] => c.verdicts;

describe('report cells: one per question, its repetitions summarized', () => {
  it('repetitions of one experiment are one cell; any setting that differs is another', () => {
    const cells = cellsOf(
      rowsOf(
        [{ ...HB, healMs: 4000 }, inside(2100)],
        [{ ...HB, fault: 'kill' }, inside(5)],
        [{ ...HB, healMs: 4000 }, inside(2300)],
        [{ ...HB, healMs: 5000 }, inside(2200)],
        [{ ...HB, workload: 'idle', healMs: 4000 }, inside(2400)],
        [{ ...HB, healMs: 4000, testbed: 'proxy' }, inside(2500)],
        [{ ...HB, strategy: 'heartbeat:interval=1s,timeout=3s', healMs: 4000 }, inside(3100)],
        [{ ...HB, fault: 'kill' }, inside(7)],
      ),
    );
    // In the order each question first appears.
    assert.deepEqual(
      cells.map((c) => [c.faultLabel, c.workload, c.testbed, c.strategy, c.runs]),
      [
        ['partition healed at 4 s', 'publish:10', 'netns', HB.strategy, 2],
        ['kill', 'publish:10', 'netns', HB.strategy, 2],
        ['partition healed at 5 s', 'publish:10', 'netns', HB.strategy, 1],
        ['partition healed at 4 s', 'idle', 'netns', HB.strategy, 1],
        ['partition healed at 4 s', 'publish:10', 'proxy', HB.strategy, 1],
        ['partition healed at 4 s', 'publish:10', 'netns', 'heartbeat:interval=1s,timeout=3s', 1],
      ],
    );
    assert.equal(new Set(cells.map((c) => c.key)).size, cells.length, 'keys are unique');
  });

  it('MQTT cells are per QoS and say so; other targets have none', () => {
    const mqtt = { target: 'mqtt' as const, strategy: 'mqtt:keepalive=2s', fault: 'kill' as const };
    const cells = cellsOf(
      rowsOf(
        [{ ...mqtt, qos: 0 }, inside(10)],
        [{ ...mqtt, qos: 1 }, inside(12)],
        [{ ...mqtt, qos: 0 }, inside(11)],
        [{ target: 'nats', strategy: 'nats:ping=1s,maxout=2', fault: 'kill' }, inside(9)],
      ),
    );
    assert.deepEqual(
      cells.map((c) => [c.client, c.qos, c.runs]),
      [
        ['mqtt mqtt:keepalive=2s,reconnect=1s QoS 0', 0, 2],
        ['mqtt mqtt:keepalive=2s,reconnect=1s QoS 1', 1, 1],
        ['nats nats:ping=1s,maxout=2,wait=2s,attempts=10', null, 1],
      ],
    );
  });

  it('detection: p50, p95 and max over the runs that detected; the others are counted apart', () => {
    // 20 repetitions: 18 detected at 2000..2850 ms (shuffled), 2 not within the deadline.
    const detects = Array.from({ length: 18 }, (_, i) => 2000 + 50 * ((i * 7) % 18));
    const rows = rowsOf(
      ...detects.map((d): [SpecOptions, Measured] => [HB, inside(d)]),
      [HB, { detect_ms: null, verdict: 'beyond deadline', predicted_ms: [2000, 3000] }],
      [HB, { detect_ms: null, verdict: 'beyond deadline', predicted_ms: [2000, 3000] }],
    );
    const [cell] = cellsOf(rows);
    assert.equal(cell!.runs, 20);
    assert.equal(cell!.detected, 18);
    // Nearest rank over the 18 detections: p50 the 9th (2400), p95 the 18th (2850).
    assert.deepEqual(cell!.detect, { p50: 2400, p95: 2850, max: 2850 });
    assert.deepEqual(verdicts(cell!), [
      ['inside', 18],
      ['beyond deadline', 2],
    ]);
    assert.equal(verdictText(cell!), 'inside 18/20, beyond deadline 2/20');
    assert.equal(predictedText(cell!), '2.00 s - 3.00 s');
  });

  it('loss, stale and reconnect: medians and ranges over the runs that have them', () => {
    const [cell] = cellsOf(
      rowsOf(
        [HB, inside(2100, { lost: 3, stale_sent: 20, reconnect_ms: 400 })],
        [HB, inside(2200, { lost: 9, stale_sent: 22, reconnect_ms: null })],
        [HB, inside(2300, { lost: 5, stale_sent: null, reconnect_ms: 900 })],
        [HB, inside(2400, { lost: 7, stale_sent: 24, reconnect_ms: 500 })],
      ),
    );
    assert.deepEqual(cell!.lost, { p50: 5, p95: 9, max: 9 });
    assert.deepEqual(cell!.stale_sent, { p50: 22, p95: 24, max: 24 }, 'unknown stale left out');
    assert.deepEqual(cell!.reconnect, { p50: 500, p95: 900, max: 900 }, 'no reconnect left out');
  });

  it('a failed experiment counts as a run with its error, and takes no part in the numbers', () => {
    const [cell, broken] = cellsOf(
      rowsOf(
        [HB, inside(2500)],
        [HB, 'the target (tcp) did not start within 10 s'],
        [{ ...HB, fault: 'kill' }, 'nats-server is not installed'],
      ),
    );
    assert.equal(cell!.runs, 2);
    assert.deepEqual(cell!.errors, ['the target (tcp) did not start within 10 s']);
    assert.deepEqual(cell!.detect, { p50: 2500, p95: 2500, max: 2500 });
    assert.equal(cell!.detected, 1);
    assert.equal(verdictText(cell!), 'inside 1/2, error 1/2');
    // A cell where every run failed: no numbers, no prediction, one word.
    assert.equal(broken!.runs, 1);
    assert.equal(broken!.detect, null);
    assert.equal(broken!.lost, null);
    assert.equal(broken!.predicted_ms, null);
    assert.equal(verdictText(broken!), 'error');
  });

  it('verdicts: one word when the repetitions agree, shares most frequent first when not', () => {
    const [agree] = cellsOf(rowsOf([HB, inside(2100)], [HB, inside(2900)]));
    assert.equal(verdictText(agree!), 'inside');
    const [split] = cellsOf(
      rowsOf([HB, { ...inside(3600), verdict: 'late' }], [HB, inside(2100)], [HB, inside(2200)]),
    );
    assert.equal(verdictText(split!), 'inside 2/3, late 1/3');
  });

  it('the prediction: a window, "never" when none is predicted, "-" for a program of yours', () => {
    const [never] = cellsOf(
      rowsOf([
        { strategy: 'none', deadlineMs: 5000 },
        { verdict: 'not detected (as predicted)', predicted_ms: null },
      ]),
    );
    assert.equal(predictedText(never!), 'never');
    const [own] = cellsOf(
      rowsOf([
        { clientCmd: './mine', fault: 'reset' },
        { detect_ms: 40, verdict: 'measured (no prediction)' },
      ]),
    );
    assert.equal(predictedText(own!), '-');
  });

  it('fault labels say when it healed or restarted, how slow, or how long a flow may idle', () => {
    const cells = cellsOf(
      rowsOf(
        [{ ...HB, healMs: 6000 }, inside(2100)],
        [{ target: 'nats', fault: 'kill', restartMs: 1500 }, inside(3)],
        [
          { ...HB, testbed: 'proxy', fault: 'latency', latency: { ms: 200, jitterMs: 50 } },
          { verdict: 'not detected (as predicted)' },
        ],
        [
          {
            strategy: 'keepalive:idle=5s,interval=1s,count=2',
            fault: 'idle-timeout',
            idleTimeout: { ms: 350_000, onExpiry: 'reset' },
            deadlineMs: 600_000,
          },
          inside(355_000),
        ],
      ),
    );
    assert.deepEqual(
      cells.map((c) => c.faultLabel),
      [
        'partition healed at 6 s',
        'kill restarted at 1.5 s',
        'latency 0.2 s +- 0.05 s',
        'idle-timeout 350 s, reset',
      ],
    );
  });

  it('your own client: its command in the strategy column, cut at 40; each command its own cell', () => {
    const long = (tail: string) => `python3 /opt/clients/long/path/to/a/client.py --${tail}`;
    const cells = cellsOf(
      rowsOf(
        [{ clientCmd: long('a'), fault: 'reset' }, { verdict: 'measured (no prediction)' }],
        [{ clientCmd: long('b'), fault: 'reset' }, { verdict: 'measured (no prediction)' }],
        [
          { clientCmd: './mine', strategy: 'user-timeout:3s', fault: 'reset' },
          { verdict: 'measured (no prediction)' },
        ],
      ),
    );
    assert.equal(cells.length, 3, 'two commands that look alike when cut are still two cells');
    assert.equal(cells[0]!.strategy, `unknown (${long('a').slice(0, 39)}…)`);
    assert.equal(cells[0]!.strategy, cells[1]!.strategy);
    assert.equal(cells[2]!.strategy, 'user-timeout:3s (./mine)', 'what it was said to do');
  });

  it('stats: nearest rank; none without values', () => {
    assert.equal(stats([]), null);
    assert.deepEqual(stats([7]), { p50: 7, p95: 7, max: 7 });
    assert.deepEqual(stats([4, 1, 3, 2]), { p50: 2, p95: 4, max: 4 });
  });

  it('the table shows n and the detection spread when repeated, and lists the errors', () => {
    const table = renderTable(
      cellsOf(
        rowsOf(
          [{ ...HB, healMs: 4000 }, inside(2100, { lost: 2, reconnect_ms: 350 })],
          [{ ...HB, healMs: 4000 }, inside(2900, { lost: 4, reconnect_ms: 450 })],
          [{ ...HB, fault: 'kill' }, 'the client exited before it connected'],
        ),
      ),
    );
    const lines = table.split('\n');
    assert.match(lines[0]!, /^fault +target +strategy +workload +n +detect p50 +p95 +max/);
    assert.match(
      lines[2]!,
      /^partition healed at 4 s +tcp +heartbeat:interval=1s,timeout=2s +publish:10 +2 +2\.10 s +2\.90 s +2\.90 s +2\.00 s - 3\.00 s +inside +2 +0 +350 ms$/,
    );
    assert.match(lines[3]!, /^kill +tcp .* 1 +- +- +- +never +error +- +- +-$/);
    assert.deepEqual(lines.slice(-2), [
      'errors:',
      '  tcp heartbeat:interval=1s,timeout=2s, kill: the client exited before it connected',
    ]);
  });
});
