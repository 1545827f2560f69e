/**
 * The kube testbed from the command line: its settings' bad input (one line, in-process), and a
 * run interrupted (Ctrl-C) or killed (then `halfopen cleanup`) leaving nothing: no namespace, no
 * process, no config directory, no /etc/netns directory (the headless Service's hosts file).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { specFromFlags, type RunFlags } from '../src/cli/run.js';
import { NETNS_ETC } from '../src/testbeds/netns/cleanup.js';
import {
  assertBadInput,
  dirsOf,
  gone,
  namespacesOf,
  netnsSkip,
  pidsIn,
  runCli,
  runFlags,
  startCli,
} from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'halfopen-kube-cli-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('kube: bad input, in-process (the CLI exits 2 with the line)', () => {
  const kube = { testbed: 'kube' };
  const cases: [string, Partial<RunFlags>, RegExp][] = [
    ['replicas on netns', { fault: 'kill', replicas: '3' }, /apply to --testbed kube and k8s only/],
    [
      'time-scale on proxy',
      { testbed: 'proxy', fault: 'partition', timeScale: '0.1' },
      /--testbed kube and k8s only/,
    ],
    [
      'pod-delete on netns',
      { fault: 'pod-delete' },
      /not available on the netns testbed.*needs --testbed kube/,
    ],
    ['partition on kube', { ...kube, fault: 'partition' }, /not available on the kube testbed/],
    [
      'replicas not a number',
      { ...kube, fault: 'pod-delete', replicas: 'many' },
      /--replicas 'many' must be a whole number from 1 to 5/,
    ],
    ['too many replicas', { ...kube, fault: 'pod-delete', replicas: '9' }, /from 1 to 5/],
    [
      'mosquitto does not cluster',
      { ...kube, target: 'mqtt', fault: 'pod-delete', replicas: '2' },
      /one replica only/,
    ],
    [
      'advertise on tcp',
      { ...kube, fault: 'pod-delete', advertise: 'yes' },
      /--advertise applies to a clustered broker/,
    ],
    [
      'advertise maybe',
      { ...kube, target: 'nats', fault: 'pod-delete', advertise: 'maybe' },
      /--advertise 'maybe'/,
    ],
    [
      'time-scale zero',
      { ...kube, fault: 'pod-delete', timeScale: '0' },
      /--time-scale '0' must be a number above 0/,
    ],
    [
      'unknown service form',
      { ...kube, fault: 'pod-delete', service: 'nodeport' },
      /--service 'nodeport'/,
    ],
    [
      'delay not a duration',
      { ...kube, fault: 'pod-delete', gracePeriod: 'long' },
      /--grace-period/,
    ],
    [
      'restart on kube',
      { ...kube, fault: 'node-loss', restart: '2s' },
      /--restart does not apply on the kube testbed/,
    ],
    [
      'port-forward past an advertising cluster',
      { ...kube, target: 'nats', fault: 'port-forward', advertise: 'yes' },
      /bypass the forward/,
    ],
    [
      'a delay beyond a day',
      { ...kube, fault: 'node-loss', eviction: '25h' },
      /--eviction 25h must be at most 24h/,
    ],
    [
      'subscribe on a nats cluster',
      { ...kube, target: 'nats', fault: 'pod-delete', workload: 'subscribe:5' },
      /not supported yet.*--replicas 1/,
    ],
  ];
  for (const [name, flags, re] of cases)
    it(name, async () => {
      await assertBadInput(() => specFromFlags(runFlags(flags)), re, name);
    });

  it('the settings reach the spec: replicas, the Service, the time-scale, real delays', () => {
    const spec = specFromFlags(
      runFlags({
        ...kube,
        target: 'nats',
        fault: 'pod-delete',
        replicas: '2',
        service: 'headless',
        timeScale: '0.1',
        advertise: 'yes',
        gracePeriod: '10s',
      }),
    );
    assert.deepEqual(spec.kube, {
      replicas: 2,
      service: 'headless',
      timeScale: 0.1,
      advertise: true,
      delays: { grace_period: 10_000 },
    });
    // Defaults: the target's replicas (mosquitto: one), real time.
    const mqtt = specFromFlags(runFlags({ ...kube, target: 'mqtt', fault: 'pod-delete' }));
    assert.deepEqual(mqtt.kube, {
      replicas: 1,
      service: 'cluster-ip',
      timeScale: 1,
      advertise: false,
      delays: {},
    });
  });

  it('the CLI itself: exit 2, one line, nothing created', { skip: netnsSkip }, async () => {
    const r = await runCli([
      'run',
      '--testbed',
      'kube',
      '--fault',
      'pod-delete',
      '--replicas',
      '0',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^halfopen: --replicas '0' must be a whole number from 1 to 5\n$/);
    assert.deepEqual(await namespacesOf(r.pid), []);
  });
});

/**
 * A headless kube run that never ends by itself (a silent node, no strategy, a 60 s deadline),
 * once its 8 namespaces exist (fabric, 4 nodes, the client and 2 replicas) and its processes run.
 */
async function startKubeRun(outName: string) {
  const run = startCli([
    'run',
    '--testbed',
    'kube',
    '--target',
    'nats',
    '--replicas',
    '2',
    '--service',
    'headless',
    '--strategy',
    'nats:ping=2m,maxout=2',
    '--fault',
    'node-loss',
    '--deadline',
    '60s',
    '--out',
    join(work, outName),
  ]);
  // Two brokers, two sinks and the client. On a loaded 2-core machine they can take several
  // seconds to start; 30 s is far more than they need, and the run's own deadline is 60 s.
  const { namespaces, pids } = await run.waitFor(
    async () => {
      const namespaces = await namespacesOf(run.pid);
      const pids = pidsIn(namespaces);
      return namespaces.length === 8 && pids.length >= 5 && { namespaces, pids };
    },
    30_000,
    'the run built its 8 namespaces and 5 processes run inside them',
  );
  const hosts = join(
    NETNS_ETC,
    namespaces.find((n) => n.endsWith('-client'))!,
  );
  assert.ok(existsSync(hosts), `the headless Service's hosts directory ${hosts} exists`);
  return { run, namespaces, pids, hosts };
}

describe(
  'kube: interrupted and killed runs leave nothing',
  { skip: netnsSkip, concurrency: 1 },
  () => {
    it('Ctrl-C (SIGINT) mid-run: exit 130; namespaces, processes, config and hosts directories gone', async () => {
      const { run, pids, hosts } = await startKubeRun('sigint');
      run.signal('SIGINT');
      const r = await run.exited;
      assert.equal(r.code, 130, r.stderr);
      assert.deepEqual(await namespacesOf(run.pid), []);
      assert.deepEqual(dirsOf(run.pid), []);
      assert.ok(!existsSync(hosts), `${hosts} removed`);
      for (const pid of pids) assert.ok(await gone(pid), `process ${pid} is gone`);
    });

    it('SIGKILL mid-run, then `halfopen cleanup`: nothing left', async () => {
      const { run, namespaces, pids, hosts } = await startKubeRun('sigkill');
      run.signal('SIGKILL');
      await run.exited;
      assert.equal((await namespacesOf(run.pid)).length, 8, 'a killed run leaves its namespaces');
      const r = await runCli(['cleanup', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = r.json<{ removed: string[]; removedDirs: string[] }>();
      for (const ns of namespaces) assert.ok(report.removed.includes(ns), `cleanup removed ${ns}`);
      assert.ok(report.removedDirs.includes(hosts), `cleanup removed ${hosts}`);
      assert.deepEqual(await namespacesOf(run.pid), []);
      assert.deepEqual(dirsOf(run.pid), []);
      assert.ok(!existsSync(hosts));
      for (const pid of pids) assert.ok(await gone(pid), `process ${pid} is gone`);
    });
  },
);

describe('kube: tune --verify', { skip: netnsSkip }, () => {
  it("checks a setting against the loss of the node of the client's pod", async () => {
    const r = await runCli([
      'tune',
      '--target',
      'nats',
      '--within',
      '5s',
      '--verify',
      '--testbed',
      'kube',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    type Verified = { partition: { testbed: string; detect_ms: number | null }; passed: boolean };
    const out = r.json<{ recommendations: { predicted_ms: number[]; verified?: Verified }[] }>();
    const [rec] = out.recommendations;
    assert.ok(rec?.verified, JSON.stringify(out));
    assert.equal(rec.verified.partition.testbed, 'kube');
    // Judged against --within 5 s (the recommendation's window is (2.5 s, 5 s]) with the lab's allowance.
    assert.deepEqual(rec.predicted_ms, [2500, 5000]);
    assert.ok(rec.verified.passed, JSON.stringify(rec));
  });
});

describe('kube: a scenario file through matrix, table and report', { skip: netnsSkip }, () => {
  it('two cluster variants, each a row; the report lists the Kubernetes events', async () => {
    const out = join(work, 'matrix');
    const scenario = [
      'clients: [{ target: nats, strategies: ["nats:ping=1s,maxout=2"] }]',
      'workloads: [publish:5]',
      'faults: [pod-force-delete]',
      'testbeds: [kube]',
      'kube: [{ time_scale: 0.05 }, { time_scale: 0.05, replicas: 2, advertise: true }]',
      'deadline: 5s',
    ].join('\n');
    const r = await runCli(['matrix', 'k.yaml', '--parallel', '4', '--out', out], {
      files: { 'k.yaml': scenario },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pod-force-delete +nats x3 +nats:ping=1s/m);
    assert.match(r.stdout, /^pod-force-delete +nats x2 advertised +nats:ping=1s/m);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<ul class="k8s">/);
    assert.match(html, /pod <b>nats-\d<\/b>: SIGTERM/);
  });
});
