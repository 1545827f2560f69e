/**
 * Expectations as a gate: `--expect` and `expect:` parsed (bad clauses are one line quoting what
 * was typed), checked against every repetition, merged (the client's and the flag's win on the
 * same measurement), and the whole path through the real CLI: a miss is named and exits 3, met
 * expectations exit 0, JUnit XML holds one test case per cell with a failure where one was missed.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import {
  checkExpectations,
  mergeExpectations,
  parseExpectations,
  type CheckedResult,
} from '../src/report/expect.js';
import { parseScenario } from '../src/scenario/file.js';
import { assertBadInput, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'halfopen-gate-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

const result = (o: Partial<CheckedResult>): CheckedResult => ({
  detect_ms: 2000,
  reconnect_ms: 300,
  lost: 0,
  stale_sent: 0,
  duplicates: 0,
  false_disconnects: 0,
  verdict: 'inside',
  ...o,
});

describe('expectations: parsing', () => {
  it('reads clauses, comma-separated or repeated, with units, statistics and verdict alternatives', () => {
    const e = parseExpectations(
      ['detect<=1h30m, lost=0', 'verdict=inside|beyond-deadline', 'reconnect.p95 < 2s'],
      '--expect',
    );
    assert.deepEqual(
      e.map((x) => [x.metric, x.stat, x.op, x.value]),
      [
        ['detect', null, '<=', 5_400_000],
        ['lost', null, '=', 0],
        ['verdict', null, '=', ['inside', 'beyond deadline']],
        ['reconnect', 'p95', '<', 2000],
      ],
    );
    assert.equal(e[3]!.text, 'reconnect.p95 < 2s', 'the clause is kept as typed, for messages');
  });

  const bad: [string, RegExp][] = [
    ['detect<=soon', /^--expect: 'detect<=soon': 'soon' is not a duration/],
    ['latency<=1s', /'latency' is not a measurement \(one of: detect, reconnect, lost/],
    ['lost=-1', /^--expect: 'lost=-1': '-1' is not a count/],
    ['lost=1.5', /'1\.5' is not a count/],
    ['verdict<=inside', /a verdict takes = or != \(not <=\)/],
    ['verdict=fine', /'fine' is not a verdict \(one of: .*fault not in force/],
    ['detect.p99<=1s', /'\.p99' is not a statistic/],
    ['detect<=', /the value is missing/],
    ['fast', /'fast' is not an expectation \(expected <metric><op><value>/],
  ];
  for (const [text, re] of bad)
    it(`refuses '${text}' in one line that quotes it`, async () => {
      const msg = await assertBadInput(() => parseExpectations(text, '--expect'), re, text);
      assert.ok(msg.includes(text) || msg.includes(text.split(/[<=>]/)[0]!), msg);
    });

  it("merges: a later clause on the same measurement and statistic replaces the earlier one's", () => {
    const base = parseExpectations('detect<=10s, lost=0, detect.p95<=5s', 'expect');
    const merged = mergeExpectations(base, parseExpectations('detect<=20s', '--expect'));
    assert.deepEqual(
      merged.map((e) => e.text),
      ['lost=0', 'detect.p95<=5s', 'detect<=20s'],
    );
  });
});

describe('expectations: checked against every repetition', () => {
  it('a bound every run must meet names the runs that missed it', () => {
    const [o] = checkExpectations(parseExpectations('detect<=3s', 'x'), [
      result({ detect_ms: 2000 }),
      result({ detect_ms: 4100 }),
      result({ detect_ms: null }),
    ]);
    assert.equal(o!.met, false);
    assert.equal(o!.actual, '4.10 s, not detected in 2 of 3 runs');
  });

  it('a statistic is of the repetitions; not detected sorts as the slowest', () => {
    const runs = [
      result({ detect_ms: 1000 }),
      result({ detect_ms: 1200 }),
      result({ detect_ms: null }),
    ];
    const [p50, max] = checkExpectations(
      parseExpectations('detect.p50<=1.5s, detect.max<=1.5s', 'x'),
      runs,
    );
    assert.deepEqual([p50!.met, p50!.actual], [true, 'p50 1.20 s']);
    assert.deepEqual([max!.met, max!.actual], [false, 'max not detected']);
  });

  it('counts, an unknown count, verdicts with alternatives and !=', () => {
    const runs = [result({ lost: 0, verdict: 'inside' }), result({ lost: 3, verdict: 'late' })];
    const [lost, unknown, is, isNot] = checkExpectations(
      parseExpectations('lost<=2, stale=0, verdict=inside|early, verdict!=beyond-deadline', 'x'),
      [...runs, result({ stale_sent: null, verdict: 'early' })],
    );
    assert.deepEqual([lost!.met, lost!.actual], [false, '3 in 1 of 3 runs']);
    assert.deepEqual([unknown!.met, unknown!.actual], [false, 'unknown in 1 of 3 runs']);
    assert.deepEqual([is!.met, is!.actual], [false, 'inside 1/3, late 1/3, early 1/3']);
    assert.equal(isNot!.met, true);
  });

  it('a repetition that failed to run meets nothing: it could not be checked', () => {
    const [o] = checkExpectations(
      parseExpectations('lost=0', 'x'),
      [result({})],
      ['namespace busy'],
    );
    assert.equal(o!.met, false);
    assert.match(o!.actual, /1 of 2 runs failed: namespace busy/);
    const [none] = checkExpectations(parseExpectations('verdict=inside', 'x'), [], ['boom']);
    assert.equal(none!.met, false);
  });
});

describe('expectations in scenario files', () => {
  const file = (expect: string): string => `
name: gate
clients:
  - { target: tcp, strategies: [none] }
  - target: tcp
    strategies: ["heartbeat:interval=1s,timeout=2s"]
    expect: ${expect}
faults: [kill]
expect: "detect<=5s, lost=0"
`;

  it("the scenario's apply to every cell; a client's replace them on the same measurement", () => {
    const s = parseScenario(file('"detect<=3s"'), 'gate.yaml');
    assert.deepEqual(
      s.expect.map((e) => e.map((x) => x.text)),
      [
        ['detect<=5s', 'lost=0'],
        ['lost=0', 'detect<=3s'],
      ],
    );
  });

  it('a bad clause names its field and quotes it', async () => {
    await assertBadInput(
      () => parseScenario(file('["detect<=3s", "los=0"]'), 'gate.yaml'),
      /^gate\.yaml: clients\[1\]\.expect: 'los=0': 'los' is not a measurement/,
    );
  });
});

describe('the gate through the real CLI (proxy testbed: no root)', () => {
  // heartbeat:interval=1s,timeout=2s notices a blackhole in [2 s, 3 s] (the proxy testbed's
  // window); 500 ms cannot be met by any run, 20 s is met by every run that is not broken.
  const args = (expect: string, out: string): string[] => [
    'run',
    '--testbed',
    'proxy',
    '--fault',
    'partition',
    '--strategy',
    'heartbeat:interval=1s,timeout=2s',
    '--workload',
    'publish:10',
    '--deadline',
    '8s',
    '--expect',
    expect,
    '--expect',
    'verdict!=fault-not-in-force',
    '--out',
    join(work, out),
    '--junit',
    join(work, `${out}.xml`),
  ];
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });
  interface Case {
    name: string;
    classname: string;
    failure?: { message: string };
  }
  interface Suite {
    name: string;
    tests: string;
    failures: string;
    testcase: Case | Case[];
  }
  const suiteIn = (file: string): Suite =>
    (parser.parse(readFileSync(file, 'utf8')) as { testsuites: { testsuite: Suite } }).testsuites
      .testsuite;
  const only = (s: Suite): Case => {
    assert.ok(!Array.isArray(s.testcase), 'one test case');
    return s.testcase;
  };

  it('a missed expectation is named, exits 3, and is a JUnit failure; a met one exits 0', async () => {
    const [miss, met] = await Promise.all([
      runCli(args('detect<=500ms', 'miss')),
      runCli(args('detect<=20s', 'met')),
    ]);
    assert.equal(miss.code, 3, miss.stderr);
    assert.match(
      miss.stdout,
      /expectations: missed in 1 of 1 cell\n {2}MISSED tcp heartbeat:interval=1s,timeout=2s publish:10, partition: detect<=500ms \(was \d/,
    );
    assert.equal(met.code, 0, met.stderr + met.stdout);
    assert.match(met.stdout, /expectations: all met in 1 cell/);

    const suite = suiteIn(join(work, 'miss.xml'));
    assert.equal(suite.tests, '1');
    assert.equal(suite.failures, '1');
    assert.equal(only(suite).classname, 'halfopen.proxy.tcp');
    assert.match(only(suite).failure!.message, /^detect<=500ms \(was \d/);
    const ok = suiteIn(join(work, 'met.xml'));
    assert.equal(ok.failures, '0');
    assert.equal(only(ok).failure, undefined);

    const written = JSON.parse(readFileSync(join(work, 'miss', 'result.json'), 'utf8')) as {
      expect: { expect: string; met: boolean }[];
    };
    assert.deepEqual(
      written.expect.map((e) => [e.expect, e.met]),
      [
        ['detect<=500ms', false],
        ['verdict!=fault-not-in-force', true],
      ],
    );
  });

  it('a matrix: expect: from the file and --expect together, one JUnit case per cell', async () => {
    const scenario = `
name: gate matrix
clients:
  - { target: tcp, strategies: [none, "heartbeat:interval=1s,timeout=2s"], expect: "detect<=10s" }
workloads: [publish:10]
faults: [graceful, { fault: partition, heal: 3s }]
testbeds: [proxy]
deadline: 6s
expect: lost=0
`;
    const cwd = mkdtempSync(join(work, 'matrix-'));
    const r = await runCli(
      [
        'matrix',
        'gate.yaml',
        '--parallel',
        '4',
        '--out',
        'out',
        '--junit',
        'junit.xml',
        '--json',
        '--expect',
        'false_disconnects=0',
      ],
      { files: { 'gate.yaml': scenario }, cwd },
    );
    // tcp none never notices a blackhole (the proxy answers for the dead peer): that cell misses.
    assert.equal(r.code, 3, r.stderr);
    const out = r.json<{
      expect_missed: number;
      cells: { strategy: string; fault: string; expect: { expect: string; met: boolean }[] }[];
    }>();
    assert.equal(out.cells.length, 4);
    for (const c of out.cells)
      assert.deepEqual(
        c.expect.map((e) => e.expect),
        ['lost=0', 'detect<=10s', 'false_disconnects=0'],
      );
    const partitionNone = out.cells.find((c) => c.strategy === 'none' && c.fault === 'partition')!;
    assert.equal(partitionNone.expect.find((e) => e.expect === 'detect<=10s')!.met, false);
    assert.ok(out.expect_missed >= 1);
    const suite = suiteIn(join(cwd, 'junit.xml'));
    const cases = [suite.testcase].flat();
    assert.equal(cases.length, 4, 'one test case per cell');
    assert.equal(suite.name, 'gate matrix');
    assert.equal(
      cases.filter((c) => c.failure !== undefined).length,
      out.expect_missed,
      'a failure for each cell that missed',
    );
  });
});
