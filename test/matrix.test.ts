/**
 * Scenario files and matrix runs as a user meets them: mistakes in a file get one line naming the
 * file and field (checked in-process, and once through the CLI, which creates nothing); a real
 * matrix writes its timelines, summary.json and a report that a headless browser renders
 * offline; Ctrl-C mid-matrix leaves nothing behind.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { readScenario } from '../src/cli/matrix.js';
import { parseScenario, scenarioJsonSchema } from '../src/scenario/file.js';
import { formatStrategy } from '../src/scenario/spec.js';
import {
  assertBadInput,
  assertOneLine,
  dirsOf,
  namespacesOf,
  netnsSkip,
  pidsIn,
  runCli,
  startCli,
} from './helpers.js';

/** The real matrix's output directory, read by two tests in turn. */
const work = mkdtempSync(join(tmpdir(), 'halfopen-matrix-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('scenario files', () => {
  it('expand into every combination, heal for partitions and restart where asked', () => {
    const s = parseScenario(
      [
        'clients:',
        '  - target: tcp',
        '    strategies: [none, "heartbeat:interval=1s,timeout=2s"]',
        '  - { target: mqtt, strategies: ["mqtt:keepalive=2s"], qos: [0, 1] }',
        'workloads: [publish:10]',
        'faults: [kill, partition, { fault: node-loss, restart: 3s }]',
        'heal: 4s',
        'repetitions: 2',
      ].join('\n'),
      'm.yaml',
    );
    // (2 tcp strategies + 1 mqtt strategy x 2 QoS) x 3 faults x 2 repetitions
    assert.equal(s.specs.length, 24);
    const partition = s.specs.filter((x) => x.fault === 'partition');
    assert.ok(partition.every((x) => x.healMs === 4000 && x.restartMs === null));
    assert.ok(s.specs.filter((x) => x.fault === 'kill').every((x) => x.healMs === null));
    assert.ok(s.specs.filter((x) => x.fault === 'node-loss').every((x) => x.restartMs === 3000));
    assert.deepEqual(
      [...new Set(s.specs.map((x) => `${x.target} ${formatStrategy(x.strategy)} ${x.qos}`))],
      [
        'tcp none 0',
        'tcp heartbeat:interval=1s,timeout=2s 0',
        'mqtt mqtt:keepalive=2s,reconnect=1s 0',
        'mqtt mqtt:keepalive=2s,reconnect=1s 1',
      ],
    );
  });

  it('idle-timeout entries carry their timeout and what happens on expiry (drop by default)', () => {
    const s = parseScenario(
      [
        'clients: [{ target: tcp }]',
        'faults:',
        '  - { fault: idle-timeout, idle_timeout: 350s }',
        '  - { fault: idle-timeout, idle_timeout: 4m, on_expiry: reset }',
        'deadline: 20m',
      ].join('\n'),
      'i.yaml',
    );
    assert.deepEqual(
      s.specs.map((x) => x.idleTimeout),
      [
        { ms: 350_000, onExpiry: 'drop' },
        { ms: 240_000, onExpiry: 'reset' },
      ],
    );
  });

  it('a client with a command is your own program, its strategies what it is said to do', () => {
    const s = parseScenario(
      [
        'clients:',
        '  - { target: nats, command: "python3 pub.py", detect_log: "^lost", strategies: ["user-timeout:3s"] }',
        '  - { target: tcp, command: "./mine" }',
        'faults: [reset]',
      ].join('\n'),
      'own.yaml',
    );
    assert.deepEqual(
      s.specs.map((x) => x.own),
      [
        { command: 'python3 pub.py', detectLog: '^lost', declared: true },
        { command: './mine', detectLog: null, declared: false },
      ],
    );
    assert.equal(formatStrategy(s.specs[0]!.strategy), 'user-timeout:3s');
  });

  it('the committed JSON Schema is the one `halfopen schema` prints', async () => {
    const committed = readFileSync(new URL('../../scenario.schema.json', import.meta.url), 'utf8');
    assert.deepEqual(JSON.parse(committed), scenarioJsonSchema());
    const r = await runCli(['schema']);
    assert.equal(r.code, 0);
    assert.deepEqual(r.json(), scenarioJsonSchema());
  });

  const good = 'clients: [{ target: tcp }]\nfaults: [kill]\n';
  const cases: [string, string, string, RegExp][] = [
    ['unknown key', 'a.yaml', `${good}colour: red\n`, /: colour: "red": not a field here/],
    [
      'unknown target',
      'b.yaml',
      'clients: [{ target: kafka }]\nfaults: [kill]\n',
      /clients\[0\]\.target: "kafka"/,
    ],
    [
      'bad strategy',
      'c.yaml',
      'clients: [{ target: tcp, strategies: ["keepalive:idle=2s"] }]\nfaults: [kill]\n',
      /clients\[0\]\.strategies\[0\]: strategy 'keepalive:idle=2s': missing 'interval='/,
    ],
    ['bad duration', 'd.yaml', `${good}deadline: soon\n`, /deadline: "soon": .*duration/],
    ['zero repetitions', 'e.yaml', `${good}repetitions: 0\n`, /repetitions: 0: .*>=1/],
    ['no faults', 'f.yaml', 'clients: [{ target: tcp }]\nfaults: []\n', /faults: \[\]/],
    [
      'unknown fault',
      'g.yaml',
      'clients: [{ target: tcp }]\nfaults: [meteor]\n',
      /faults\[0\]: "meteor"/,
    ],
    [
      'heal on kill',
      'h.yaml',
      'clients: [{ target: tcp }]\nfaults: [{ fault: kill, heal: 2s }]\n',
      /with fault kill: --heal applies to the partition fault only/,
    ],
    [
      'subscribe on tcp',
      'i.yaml',
      `${good}workloads: ["subscribe:5"]\n`,
      /with fault kill: workload 'subscribe:5' needs a target that pushes \(nats, mqtt, ws, grpc, h2\); the tcp server only receives/,
    ],
    ['not YAML', 'j.yaml', 'clients: [\n', /not valid YAML/],
    [
      'qos out of range',
      'm.yaml',
      'clients: [{ target: mqtt, qos: [2] }]\nfaults: [kill]\n',
      /clients\[0\]\.qos\[0\]: 2: /,
    ],
    ['unknown testbed', 'n.yaml', `${good}testbeds: [k3s]\n`, /testbeds\[0\]: "k3s": .*"netns"/],
    [
      'fault not on a real cluster',
      'n2.yaml',
      `${good}testbeds: [k8s]\n`,
      /fault kill is not available on the k8s testbed/,
    ],
    ['bad warmup', 'o.yaml', `${good}warmup: later\n`, /warmup: "later": a duration/],
    [
      'bad restart',
      'p.yaml',
      'clients: [{ target: tcp }]\nfaults: [{ fault: kill, restart: "5 s" }]\n',
      /faults\[0\]\.restart: "5 s": a duration/,
    ],
    ['name not text', 'q.yaml', `${good}name: 3\n`, /name: 3: .*string/],
    [
      'detect_log without a command',
      's.yaml',
      'clients: [{ target: tcp, detect_log: "x" }]\nfaults: [kill]\n',
      /clients\[0\]\.detect_log: applies to a client with a command only/,
    ],
    [
      'a bad detect_log',
      't.yaml',
      'clients: [{ target: tcp, command: "true", detect_log: "(" }]\nfaults: [kill]\n',
      /--detect-log '\(' is not a regular expression/,
    ],
    [
      "a client's workload",
      'r.yaml',
      'clients: [{ target: nats, workloads: ["publish:0"] }]\nfaults: [kill]\n',
      /clients\[0\]\.workloads\[0\]: workload 'publish:0' is unknown/,
    ],
    [
      'JSON with a wrong type',
      'k.json',
      '{"clients": [{"target": "tcp"}], "faults": ["kill"], "repetitions": "3"}',
      /repetitions: "3": .*number/,
    ],
    [
      'idle-timeout without its timeout',
      'n.yaml',
      'clients: [{ target: tcp }]\nfaults: [idle-timeout]\n',
      /fault idle-timeout needs --idle-timeout/,
    ],
    [
      'a bad on_expiry',
      'o.yaml',
      'clients: [{ target: tcp }]\nfaults: [{ fault: idle-timeout, idle_timeout: 2s, on_expiry: rst }]\n',
      /on_expiry/,
    ],
    [
      'bad sysctl',
      'l.yaml',
      `${good}sysctls: { ip_forward: 1 }\n`,
      /sysctls\.ip_forward: sysctl 'ip_forward=1' is not allowed/,
    ],
  ];
  for (const [name, file, text, re] of cases) {
    it(`a mistake gets one line naming the field: ${name}`, async () => {
      const message = await assertBadInput(() => parseScenario(text, file), re, name);
      assert.ok(message.includes(file), `names the file: ${message}`);
    });
  }

  it('a missing file: one line', async () => {
    await assertBadInput(
      () => readScenario(join(work, 'nope.yaml')),
      /cannot read scenario file .*nope\.yaml \(ENOENT\)/,
    );
  });

  it('through the CLI: one line naming the file and field, exit 2, nothing created', async () => {
    const r = await runCli(['matrix', 'a.yaml'], { files: { 'a.yaml': `${good}colour: red\n` } });
    assertOneLine(r, 2, /a\.yaml: colour: "red": not a field here/);
    assert.deepEqual(r.created, [], 'creates nothing');
    assert.deepEqual(dirsOf(r.pid), [], 'no lab directories');
  });
});

const CHROMIUM = '/usr/bin/chromium';

describe('a real matrix', { skip: netnsSkip }, () => {
  const out = join(work, 'run');
  const small = [
    'name: small matrix',
    'clients:',
    '  - target: tcp',
    '    strategies: ["heartbeat:interval=1s,timeout=2s"]',
    '  - target: nats',
    '    strategies: ["nats:ping=500ms,maxout=2,wait=250ms,attempts=-1"]',
    'workloads: [publish:10]',
    'faults: [kill, { fault: partition, heal: 3s }]',
    'repetitions: 2',
    'deadline: 8s',
  ].join('\n');
  let stdout = '';

  it('writes every timeline, summary.json and report.html, and prints the table', async () => {
    const r = await runCli(['matrix', 'small.yaml', '--parallel', '4', '--out', out], {
      files: { 'small.yaml': small },
    });
    assert.equal(r.code, 0, r.stderr);
    stdout = r.stdout;
    assert.match(stdout, /^fault +target +strategy +workload +n +detect p50 +p95 +max/m);
    assert.match(stdout, /partition healed at 3 s +nats .* 2 +\d/);
    // The runner lowers the 4 when timers run late on a loaded machine, and says so.
    assert.match(stdout, /8 experiments in [\d.]+ s \(4 at a time(, lowered to [12])?\)/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      schema: string;
      cells: {
        runs: number;
        detect_ms: { p50: number } | null;
        verdicts: Record<string, number>;
      }[];
      experiments: { dir: string; result?: unknown; error?: string }[];
    };
    assert.equal(summary.schema, 'halfopen.summary/1');
    assert.equal(summary.cells.length, 4);
    assert.ok(summary.cells.every((c) => c.runs === 2 && c.detect_ms !== null));
    assert.ok(
      summary.cells.every((c) => c.verdicts.inside === 2),
      JSON.stringify(summary.cells),
    );
    assert.equal(summary.experiments.length, 8);
    for (const e of summary.experiments) {
      assert.ok(e.result, `experiment ran: ${e.error}`);
      assert.ok(existsSync(join(e.dir, 'timeline.jsonl')), `${e.dir} has its timeline`);
    }
  });

  it(
    'the report renders offline in a headless browser, with its charts',
    { skip: !existsSync(CHROMIUM) && 'needs chromium (npm test installs it)' },
    async () => {
      const report = join(out, 'report.html');
      assert.ok(existsSync(report), 'report written');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        const outside: string[] = [];
        // No network: anything but the file itself is refused, and counted.
        await page.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith('file:')) return route.continue();
          outside.push(url);
          return route.abort();
        });
        await page.goto(`file://${report}`);
        assert.deepEqual(outside, [], 'the report asks for nothing outside itself');
        assert.equal(await page.locator('h1').textContent(), 'small matrix');
        // Results table: one row per cell.
        assert.equal(await page.locator('table.results tbody tr').count(), 4);
        // 2 clients: a detection and a loss chart each, plus one timeline per experiment.
        const figures = page.locator('figure svg');
        assert.equal(await figures.count(), 4);
        assert.equal(await page.locator('details svg').count(), 8);
        // Each detection chart draws its measured points (ECharts scatter symbols are paths).
        const box = await figures.first().boundingBox();
        assert.ok(box && box.width > 300 && box.height > 200, 'the chart has a size on the page');
        const points = await figures.first().locator('path').count();
        assert.ok(points > 10, `the chart draws axes, bands and points (${points} paths)`);
        assert.match((await figures.first().textContent()) ?? '', /partition healed at 3 s/);
      } finally {
        await browser.close();
      }
    },
  );
});

describe('interrupting a matrix', { skip: netnsSkip }, () => {
  it('Ctrl-C mid-matrix: exit 130, no namespaces, config dirs or processes left', async () => {
    const run = startCli(['matrix', 'long.yaml', '--parallel', '4', '--out', 'int'], {
      files: {
        'long.yaml':
          'clients: [{ target: tcp }, { target: mqtt }]\nfaults: [partition]\nrepetitions: 2\ndeadline: 60s\n',
      },
    });
    const brokers = (): string[] =>
      spawnSync('pgrep', ['-f', `${tmpdir()}/halfopen-${run.pid}-`], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean);
    // Four experiments running: 12 namespaces, target and client in each testbed (and the sink
    // with each of the two mosquittos). Up to 30 s: four testbeds built at once on a loaded
    // 2-core machine.
    await run.waitFor(
      async () => {
        const namespaces = await namespacesOf(run.pid);
        return namespaces.length === 12 && pidsIn(namespaces).length >= 10 && brokers().length >= 2;
      },
      30_000,
      'four experiments running, with their brokers',
    );
    run.signal('SIGINT');
    const r = await run.exited;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(await namespacesOf(run.pid), []);
    assert.deepEqual(dirsOf(run.pid), []);
    assert.deepEqual(brokers(), [], 'no broker of this run is left');
  });
});
