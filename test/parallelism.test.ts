/**
 * How many experiments a matrix runs at once: the machine's default (a pure function of cores and
 * free memory), the lowering while timers run late (a pure policy, fed lateness reports), and real
 * matrices on the proxy testbed (no root) at 12 and more at once: no MaxListenersExceededWarning,
 * no listener left on the run's signal, and the parallelism used reported in --json and
 * summary.json.
 */
import { strict as assert } from 'node:assert';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConcurrencyLimit,
  EXPERIMENT_BYTES,
  LATE_MS,
  MAX_DEFAULT,
  defaultParallel,
  describeLimit,
  parallelFor,
  type LimitChange,
} from '../src/runner/parallelism.js';
import { CLUSTER_PARALLEL, scenarioParallel } from '../src/cli/matrix.js';
import { runMatrix } from '../src/runner/matrix.js';
import { parseScenario } from '../src/scenario/file.js';
import { newRunId } from '../src/testbeds/netns/names.js';
import { AbortFanOut } from '../src/util/abort.js';
import { runCli } from './helpers.js';

const GB = 2 ** 30;
const work = mkdtempSync(join(tmpdir(), 'halfopen-parallelism-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('the default parallelism', () => {
  it('is 8 per core, at most 32', () => {
    assert.equal(parallelFor({ cores: 1, freeBytes: 16 * GB }), 8);
    assert.equal(parallelFor({ cores: 2, freeBytes: 16 * GB }), 16);
    assert.equal(parallelFor({ cores: 4, freeBytes: 16 * GB }), 32);
    assert.equal(parallelFor({ cores: 64, freeBytes: 256 * GB }), MAX_DEFAULT);
  });

  it('is as many as the free memory holds, but at least one', () => {
    // 600 MB free: four experiments of 150 MB.
    assert.equal(parallelFor({ cores: 2, freeBytes: 600 * 2 ** 20 }), 4);
    assert.equal(parallelFor({ cores: 8, freeBytes: 5 * EXPERIMENT_BYTES - 1 }), 4);
    assert.equal(parallelFor({ cores: 2, freeBytes: 100 * 2 ** 20 }), 1);
    assert.equal(parallelFor({ cores: 2, freeBytes: 0 }), 1);
  });

  it('treats a machine that reports no cores as one', () => {
    assert.equal(parallelFor({ cores: 0, freeBytes: 16 * GB }), 8);
  });
});

/** Feeds `reports` (lateness of experiments that each started just before ending). */
function feed(
  limit: ConcurrencyLimit,
  reports: readonly (number | null)[],
): (LimitChange | null)[] {
  return reports.map((ms) => limit.ended(limit.started(), ms));
}

describe('the limit while timers run late', () => {
  it('halves when an experiment is more than LATE_MS (100 ms) late, down to 1 and no lower', () => {
    const limit = new ConcurrencyLimit(16);
    const changes = feed(limit, [12, LATE_MS, LATE_MS + 0.1, 160, 400, LATE_MS + 1, 999, 999]);
    assert.deepEqual(
      changes.map((c) => c && [c.from, c.to]),
      [null, null, [16, 8], [8, 4], [4, 2], [2, 1], null, null],
    );
    assert.equal(limit.limit, 1);
    assert.equal(limit.lowest, 1);
    assert.deepEqual(changes[2], { done: 3, from: 16, to: 8, latenessMs: LATE_MS + 0.1 });
  });

  it('does not count experiments started before the last change again', () => {
    const limit = new ConcurrencyLimit(16);
    // Sixteen start at once; all run late. The first report halves the limit, the other fifteen
    // ran under the old limit and change nothing.
    const epochs = Array.from({ length: 16 }, () => limit.started());
    const changes = epochs.map((e) => limit.ended(e, 180));
    assert.equal(changes.filter(Boolean).length, 1);
    assert.equal(limit.limit, 8);
    // One started after the change and late too: halved again.
    assert.deepEqual(feed(limit, [180])[0], { done: 17, from: 8, to: 4, latenessMs: 180 });
  });

  it('raises by one after as many on-time experiments as the limit, never above the start', () => {
    const limit = new ConcurrencyLimit(8);
    feed(limit, [140]);
    assert.equal(limit.limit, 4);
    // Between on time (50 ms) and late (100 ms), and no report at all: neither way.
    assert.deepEqual(feed(limit, [60, null, 80, 51]), [null, null, null, null]);
    assert.deepEqual(
      feed(limit, [3, 5, 25]).map((c) => c?.to ?? null),
      [null, null, null],
    );
    assert.deepEqual(feed(limit, [4])[0]?.to, 5);
    assert.equal(feed(limit, [1, 1, 1, 1]).filter(Boolean).length, 0, 'five needed now');
    feed(limit, [1]);
    assert.equal(limit.limit, 6);
    feed(limit, Array<number>(6 + 7).fill(1));
    assert.equal(limit.limit, 8);
    assert.deepEqual(feed(limit, Array<number>(50).fill(1)).filter(Boolean), [], 'not above 8');
    assert.equal(limit.lowest, 4);
  });

  it('never changes when every experiment keeps time', () => {
    const limit = new ConcurrencyLimit(12);
    assert.deepEqual(feed(limit, Array<number>(100).fill(20)).filter(Boolean), []);
    assert.deepEqual(describeLimit(limit), []);
    assert.equal(limit.lowest, 12);
  });

  it('tells the user what it did, in a line per lowering and where it ended', () => {
    const limit = new ConcurrencyLimit(16);
    feed(limit, [121.5]);
    assert.deepEqual(describeLimit(limit), [
      'timers ran late at 16 at once (121.5 ms); lowered to 8',
    ]);
    feed(limit, Array<number>(8).fill(2));
    assert.deepEqual(describeLimit(limit), [
      'timers ran late at 16 at once (121.5 ms); lowered to 8',
      'timers kept time again; raised one at a time to 9',
    ]);
  });

  it('refuses a start below 1', () => {
    assert.throws(() => new ConcurrencyLimit(0), RangeError);
  });
});

describe('one signal shared by many jobs', () => {
  it('holds one listener while they run and none after, and aborts each', async () => {
    const shared = new AbortController();
    const fan = new AbortFanOut(shared.signal);
    let inside = 0;
    const jobs = Array.from({ length: 30 }, () =>
      fan.run(
        (signal) =>
          new Promise<unknown>((resolve) => {
            inside += 1;
            signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
          }),
      ),
    );
    assert.equal(inside, 30);
    assert.equal(getEventListeners(shared.signal, 'abort').length, 1);
    shared.abort('stop');
    assert.deepEqual(await Promise.all(jobs), Array<string>(30).fill('stop'));
    // A job started after the abort sees it at once.
    assert.equal(await fan.run((signal) => Promise.resolve(signal.aborted)), true);
    fan.close();
    assert.equal(getEventListeners(shared.signal, 'abort').length, 0);
  });
});

const PROXY_MATRIX = (repetitions: number): string =>
  [
    'name: many at once',
    'clients: [{ target: tcp, strategies: ["heartbeat:interval=1s,timeout=2s"] }]',
    'testbeds: [proxy]',
    'faults: [reset]',
    `repetitions: ${repetitions}`,
    'deadline: 5s',
  ].join('\n');

describe('a real matrix, many at once (proxy testbed, no root)', () => {
  it('at 14 at once on one signal: no MaxListenersExceededWarning, no listener left', async () => {
    const { specs } = parseScenario(PROXY_MATRIX(14), 'many.yaml');
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const shared = new AbortController();
    let most = 0;
    let listeners = 0;
    try {
      const rows = await runMatrix(specs, {
        parallel: 14,
        runId: newRunId(),
        signal: shared.signal,
        onStatus: (s) => {
          most = Math.max(most, s.running);
          listeners = Math.max(listeners, getEventListeners(shared.signal, 'abort').length);
        },
      });
      assert.deepEqual(
        rows.filter((r) => !r.result).map((r) => r.error),
        [],
        'every experiment ran',
      );
    } finally {
      process.off('warning', onWarning);
    }
    // The warning is emitted on the next tick after the listener is added: the matrix is over.
    assert.deepEqual(
      warnings.map((w) => `${w.name}: ${w.message}`),
      [],
      'no warning of any kind',
    );
    assert.ok(most >= 12, `at least 12 ran at once (${most})`);
    assert.equal(listeners, 1, 'one listener on the shared signal while they ran');
    assert.equal(getEventListeners(shared.signal, 'abort').length, 0, 'none after the matrix');
  });

  it('--parallel 12 --json: says how many at once, and summary.json too; stderr is clean', async () => {
    const r = await runCli(['matrix', 'many.yaml', '--parallel', '12', '--json', '--out', 'out'], {
      files: { 'many.yaml': PROXY_MATRIX(12) },
      cwd: work,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning|Warning/);
    const printed = r.json<{
      summary: string;
      parallel: number;
      parallel_lowest: number;
      parallel_changes: { done: number; from: number; to: number; lateness_ms: number | null }[];
    }>();
    assert.equal(printed.parallel, 12);
    assert.ok(
      printed.parallel_lowest >= 1 && printed.parallel_lowest <= 12,
      `lowest ${printed.parallel_lowest}`,
    );
    // Whether timers ran late on this machine now is not up to the test; what was reported must
    // hang together: each change halves (on lateness above LATE_MS) or adds one, from the last.
    let at = 12;
    for (const c of printed.parallel_changes) {
      assert.equal(c.from, at);
      if (c.lateness_ms !== null) {
        assert.ok(c.lateness_ms > LATE_MS);
        assert.equal(c.to, Math.max(1, Math.floor(c.from / 2)));
      } else assert.equal(c.to, c.from + 1);
      at = c.to;
    }
    assert.equal(
      printed.parallel_lowest,
      Math.min(12, ...printed.parallel_changes.map((c) => c.to)),
    );
    const summary = JSON.parse(readFileSync(join(work, printed.summary), 'utf8')) as typeof printed;
    assert.equal(summary.parallel, 12);
    assert.equal(summary.parallel_lowest, printed.parallel_lowest);
    assert.deepEqual(summary.parallel_changes, printed.parallel_changes);
  });
});

describe('a real cluster keeps its own default', () => {
  it("the Job runs 4 drivers at once without --parallel, whatever this machine's cores", () => {
    assert.equal(scenarioParallel(new Set(['k8s']), undefined), CLUSTER_PARALLEL);
    assert.equal(CLUSTER_PARALLEL, 4);
    assert.equal(scenarioParallel(new Set(['k8s']), '9'), 9);
    assert.equal(scenarioParallel(new Set(['netns']), undefined), defaultParallel());
  });
});
