/**
 * The CLI as a user runs it: a real child process, exit codes, one-line errors, JSON output, and
 * nothing left behind after Ctrl-C or after SIGKILL plus `halfopen cleanup`. Bad input is checked
 * in-process where the process adds nothing (the flag-to-spec function the CLI calls first); a
 * few cases go through the real CLI for the whole path: one line, no stack trace, exit 2,
 * nothing created.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseParallel } from '../src/cli/matrix.js';
import { specFromFlags, type RunFlags } from '../src/cli/run.js';
import {
  asNobody,
  assertBadInput,
  assertOneLine,
  dirsOf,
  gone,
  namespacesOf,
  netnsSkip,
  pidsIn,
  runCli,
  runFlags,
  startCli,
} from './helpers.js';

/** Where the runs below write their output (--out), read by the tests. */
const work = mkdtempSync(join(tmpdir(), 'halfopen-cli-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * Starts `halfopen run` with a long partition and resolves once its testbed is built and the
 * target and client run inside it: the run, its three namespaces, and the pids inside them.
 */
async function startPartitionRun(outName: string, target: 'tcp' | 'nats' | 'mqtt') {
  const run = startCli([
    'run',
    '--target',
    target,
    '--fault',
    'partition',
    '--deadline',
    '60s',
    '--out',
    join(work, outName),
  ]);
  // target and client (and, for a broker, the sink)
  const expected = target === 'tcp' ? 2 : 3;
  // On a loaded 2-core machine (four test files at once) the broker, the sink and the client can
  // take several seconds to start after the namespaces exist. 30 s is far more than they ever
  // need; the run's own deadline is 60 s.
  const { namespaces, pids } = await run.waitFor(
    async () => {
      const namespaces = await namespacesOf(run.pid);
      const pids = pidsIn(namespaces);
      return namespaces.length === 3 && pids.length >= expected && { namespaces, pids };
    },
    30_000,
    `the run built its 3 namespaces and ${expected} processes run inside them`,
  );
  return { run, namespaces, pids };
}

describe('bad input, in-process: one line naming the problem (the CLI exits 2 with it)', () => {
  const cases: [string, Partial<RunFlags>, RegExp][] = [
    ['unknown fault', { fault: 'meteor' }, /fault 'meteor' is unknown/],
    ['missing fault', {}, /--fault is required/],
    ['bad duration', { fault: 'partition', deadline: 'soon' }, /not a duration/],
    ['heal on kill', { fault: 'kill', heal: '2s' }, /partition fault only/],
    ['bad sysctl', { fault: 'partition', sysctl: ['ip_forward=1'] }, /not allowed/],
    ['warmup too long', { fault: 'kill', warmup: '1h' }, /at most 10m/],
    ['qos out of range', { target: 'mqtt', fault: 'kill', qos: '2' }, /--qos '2'/],
    ['qos on nats', { target: 'nats', fault: 'kill', qos: '1' }, /mqtt only/],
    ['restart on partition', { fault: 'partition', restart: '2s' }, /--restart applies/],
    [
      'nats strategy on tcp',
      { fault: 'kill', strategy: 'nats:ping=1s,maxout=2' },
      /does not apply to target tcp/,
    ],
    [
      'tcp strategy on mqtt',
      { target: 'mqtt', fault: 'kill', strategy: 'user-timeout:3s' },
      /does not apply to target mqtt \(expected mqtt/,
    ],
    ['subscribe on tcp', { fault: 'kill', workload: 'subscribe:5' }, /needs a target that pushes/],
    [
      'mqtt keepalive not whole seconds',
      { target: 'mqtt', fault: 'kill', strategy: 'mqtt:keepalive=1500ms' },
      /whole seconds/,
    ],
    ['unknown preset', { preset: 'sedd', fault: 'kill' }, /preset 'sedd' is unknown/],
    [
      'preset and target',
      { preset: 'seed', target: 'mqtt', fault: 'kill' },
      /do not also give --target/,
    ],
    ['idle-timeout without its timeout', { fault: 'idle-timeout' }, /needs --idle-timeout/],
    [
      'idle timeout not whole seconds on netns',
      { fault: 'idle-timeout', idleTimeout: '1500ms' },
      /whole seconds/,
    ],
    [
      'on-expiry unknown',
      { fault: 'idle-timeout', idleTimeout: '2s', onExpiry: 'rst' },
      /--on-expiry 'rst' is unknown \(expected one of: drop, reset\)/,
    ],
    [
      'on-expiry without the timeout',
      { fault: 'idle-timeout', onExpiry: 'reset' },
      /--on-expiry needs --idle-timeout/,
    ],
    [
      'idle timeout on another fault',
      { fault: 'partition', idleTimeout: '2s' },
      /apply to the idle-timeout fault only/,
    ],
    [
      'a partition on a real cluster (no API call makes one)',
      { fault: 'partition', testbed: 'k8s' },
      /fault partition is not available on the k8s testbed \(it has: .*pod-delete.*\)/,
    ],
  ];
  for (const [name, flags, re] of cases)
    it(name, async () => {
      await assertBadInput(() => specFromFlags(runFlags(flags)), re, name);
    });

  it('demo parallel', async () => {
    await assertBadInput(() => parseParallel('0'), /--parallel '0' must be an integer/);
  });
});

describe('bad input through the real CLI: one line, no stack trace, exit 2, nothing created', () => {
  const cases: [string, string[], RegExp][] = [
    // commander's own checks, and the missing command, exist only in the process
    ['unknown option', ['run', '--fault', 'partition', '--colour'], /unknown option/],
    ['unknown command', ['explode'], /unknown command/],
    ['no command', [], /a command is required/],
    // a spec error, from the flags to the exit code
    [
      'bad strategy',
      ['run', '--fault', 'partition', '--strategy', 'keepalive:idle=2s'],
      /missing 'interval='/,
    ],
  ];
  for (const [name, args, re] of cases) {
    it(name, async () => {
      const r = await runCli(args);
      assertOneLine(r, 2, re);
      assert.deepEqual(r.created, [], 'no files created');
      assert.deepEqual(dirsOf(r.pid), [], 'no lab directories created');
    });
  }

  it(
    'without root: one line naming the proxy testbed, exit 4 (the machine, not the command)',
    { skip: !asNobody && 'needs root and runuser' },
    async () => {
      const r = await runCli(['run', '--fault', 'kill'], { user: 'nobody' });
      assertOneLine(r, 4, /needs root.*--testbed proxy/);
    },
  );

  it('--help explains strategies and faults', async () => {
    const r = await runCli(['run', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /keepalive:idle=2s,interval=1s,count=3/);
    assert.match(r.stdout, /ip-reuse/);
  });
});

describe('halfopen run and cleanup (netns)', { skip: netnsSkip, concurrency: 3 }, () => {
  it('--json prints one object with the measurements; the timeline is kept', async () => {
    const out = join(work, 'json-run');
    const r = await runCli([
      'run',
      '--fault',
      'kill',
      '--workload',
      'publish:10',
      '--json',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = r.json();
    for (const key of [
      'detect_ms',
      'predicted_ms',
      'stale_sent',
      'lost',
      'reconnect_ms',
      'fault',
      'strategy',
    ]) {
      assert.ok(key in result, `JSON has ${key}`);
    }
    assert.equal(result.fault, 'kill');
    assert.equal(typeof result.detect_ms, 'number');
    const lines = readFileSync(join(out, 'timeline.jsonl'), 'utf8').trim().split('\n');
    const types = lines.map((l) => (JSON.parse(l) as { type: string }).type);
    for (const t of ['listening', 'connected', 'sent', 'recv', 'fault', 'detected'])
      assert.ok(types.includes(t), `timeline has ${t}`);
  });

  it('the human summary tells the wire, the detection against the window, loss', async () => {
    const r = await runCli([
      'run',
      '--fault',
      'partition',
      '--strategy',
      'heartbeat:interval=1s,timeout=2s',
      '--heal',
      '4s',
      '--out',
      join(work, 'human'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /router dropped \d+ packets client->server/);
    assert.match(r.stdout, /predicted 2\.00 s - 3\.00 s: inside/);
    assert.match(r.stdout, /reconnect +[\d.]+ m?s from heal/);
  });

  it('Ctrl-C (SIGINT) mid-run: exit 130, no namespaces or processes left', async () => {
    const { run, pids } = await startPartitionRun('sigint', 'tcp');
    run.signal('SIGINT');
    const r = await run.exited;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    assert.deepEqual(await namespacesOf(run.pid), []);
    for (const pid of pids) assert.ok(await gone(pid), `process ${pid} is gone`);
  });

  for (const target of ['nats', 'mqtt'] as const) {
    it(`Ctrl-C mid-run with ${target}: the broker, the sink and the config dir go too`, async () => {
      const { run, pids } = await startPartitionRun(`sigint-${target}`, target);
      run.signal('SIGINT');
      assert.equal((await run.exited).code, 130);
      assert.deepEqual(await namespacesOf(run.pid), []);
      assert.deepEqual(dirsOf(run.pid), [], 'config directory removed');
      for (const pid of pids) assert.ok(await gone(pid), `process ${pid} is gone`);
    });
  }

  it('SIGKILL mid-run (nats), then `halfopen cleanup`: nothing left', async () => {
    const { run, namespaces: left, pids } = await startPartitionRun('sigkill', 'nats');
    run.signal('SIGKILL');
    await run.exited;
    assert.equal((await namespacesOf(run.pid)).length, 3, 'a killed run leaves its namespaces');
    const dirs = dirsOf(run.pid);
    assert.equal(dirs.length, 1, 'a killed run leaves its broker config directory');
    const r = await runCli(['cleanup', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = r.json<{ removed: string[]; removedDirs: string[] }>();
    for (const ns of left) assert.ok(report.removed.includes(ns), `cleanup removed ${ns}`);
    assert.deepEqual(
      report.removedDirs,
      dirs.map((d) => join(tmpdir(), d)),
    );
    assert.deepEqual(await namespacesOf(run.pid), []);
    assert.deepEqual(dirsOf(run.pid), []);
    for (const pid of pids) assert.ok(await gone(pid), `process ${pid} is gone`);
  });

  it('--json for a broker: client library and version, library events, duplicates', async () => {
    const out = join(work, 'json-mqtt');
    const r = await runCli([
      'run',
      '--target',
      'mqtt',
      '--strategy',
      'mqtt:keepalive=2s',
      '--qos',
      '1',
      '--workload',
      'publish:10',
      '--fault',
      'kill',
      '--restart',
      '1s',
      '--json',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = r.json<{
      client: string;
      target_version: string;
      events: { at_ms: number; name: string }[];
      duplicates: number;
      reconnect_ms: number | null;
      qos: number;
    }>();
    assert.match(result.client, /^mqtt \(MQTT\.js\) \d+\.\d+\.\d+$/);
    assert.match(result.target_version, /^mosquitto \d+\.\d+\.\d+$/);
    assert.ok('duplicates' in result, 'duplicates is reported');
    assert.equal(result.qos, 1);
    const names = result.events.map((e) => e.name);
    for (const n of ['connect', 'offline', 'close', 'reconnect'])
      assert.ok(names.includes(n), `events has ${n}: ${names.join(',')}`);
    assert.ok(result.reconnect_ms !== null, 'reconnected after the restart');
  });

  // A machine without nats-server: hide it in a private mount namespace for one run.
  it('a missing broker binary: one line saying how to install it, nothing created', async () => {
    const r = await runCli(['run', '--target', 'nats', '--fault', 'kill'], {
      without: 'nats-server',
    });
    assertOneLine(r, 4, /'nats-server' is not installed: apt-get install -y nats-server/);
    // unshare and bash exec into node: the run's pid is the one the fixture started.
    assert.deepEqual(dirsOf(r.pid), [], 'no config directory');
    assert.deepEqual(await namespacesOf(r.pid), [], 'no namespaces');
  });
});
