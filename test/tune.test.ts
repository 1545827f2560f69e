/**
 * `halfopen tune`: the recommendations keep their promises by the lab's own formulas across a
 * grid of requests, the CLI explains and refuses as a user expects, and `--verify` measures them
 * (a partition on netns, a slow path through the fault proxy).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { IDLE_MARGIN, tune, type TuneRequest } from '../src/advise/tune.js';
import { tuneCommand, verifyExitCode, type TuneFlags, type Verification } from '../src/cli/tune.js';
import {
  formatStrategy,
  parseStrategy,
  parseWorkload,
  type TargetName,
} from '../src/scenario/spec.js';
import { assertBadInput, netnsSkip, runCli, specOf, tuneFlags } from './helpers.js';

const TARGETS: TargetName[] = ['tcp', 'nats', 'mqtt', 'ws', 'grpc', 'h2'];

/** `halfopen tune <args>` as a real child process. */
const cli = (args: string[]) => runCli(['tune', ...args]);

describe('tune: recommendations keep their promises', () => {
  it('across targets, workloads, targets times, tolerances and idle timeouts', () => {
    let checked = 0;
    let none = 0;
    for (const target of TARGETS)
      for (const workload of ['idle', 'publish:10', 'subscribe:2'])
        for (const withinMs of [2000, 10_000, 60_000, 400_000, 16 * 3_600_000])
          for (const tolerateMs of [200, 1000, 3000])
            for (const idleTimeoutMs of [null, 5000, 350_000]) {
              if (target === 'tcp' && workload.startsWith('subscribe')) continue;
              if (tolerateMs >= withinMs) continue;
              const req: TuneRequest = {
                target,
                workload: parseWorkload(workload),
                qos: 0,
                withinMs,
                tolerateMs,
                idleTimeoutMs,
              };
              for (const r of tune(req)) {
                const what = `${target} ${workload} within ${withinMs} tolerate ${tolerateMs} idle ${idleTimeoutMs}: ${r.why}`;
                if (!r.strategy) {
                  none += 1;
                  assert.ok(r.why.length > 20, `a reason: ${what}`);
                  continue;
                }
                checked += 1;
                assert.ok(r.window && r.window[1] <= withinMs, `noticed in time: ${what}`);
                assert.ok(r.toleratesMs! >= tolerateMs, `tolerates a late answer: ${what}`);
                if (idleTimeoutMs !== null && r.probeEveryMs !== null)
                  assert.ok(
                    r.probeEveryMs <= idleTimeoutMs * IDLE_MARGIN,
                    `keeps the flow alive: ${what}`,
                  );
                // What it prints is what `halfopen run --strategy` takes for this client.
                const text = formatStrategy(r.strategy);
                assert.deepEqual(parseStrategy(text), r.strategy, text);
                assert.doesNotThrow(() =>
                  specOf({
                    target,
                    strategy: r.strategy!,
                    workload: req.workload,
                    fault: 'partition',
                    deadlineMs: withinMs,
                  }),
                );
              }
            }
    assert.ok(checked > 300, `${checked} settings checked`);
    assert.ok(none > 0, 'some requests cannot be met, and say why');
  });

  it('a publishing TCP client gets TCP_USER_TIMEOUT, an idle one keepalive, each says why not the other', () => {
    const base = { target: 'tcp' as const, qos: 0 as const, withinMs: 10_000, tolerateMs: 1000 };
    const publishing = tune({
      ...base,
      workload: parseWorkload('publish:10'),
      idleTimeoutMs: null,
    });
    const byKind = (rs: typeof publishing, k: string) => rs.find((r) => r.kind === k)!;
    assert.equal(byKind(publishing, 'keepalive').strategy, null);
    assert.match(byKind(publishing, 'keepalive').why, /needs user-timeout/);
    assert.equal(byKind(publishing, 'user-timeout').strategy?.kind, 'user-timeout');
    const idle = tune({ ...base, workload: parseWorkload('idle'), idleTimeoutMs: null });
    assert.equal(byKind(idle, 'user-timeout').strategy, null);
    // Two probes (one may be lost) a second apart tolerate a 2 s late ACK and leave 7 s idle:
    // with 8 s the kernel's timer-wheel steps (256 ms for 8 s, 32 ms per 1 s) would end at 10.32 s.
    assert.deepEqual(
      byKind(idle, 'keepalive').strategy,
      parseStrategy('keepalive:idle=7s,interval=1s,count=2'),
    );
    assert.match(byKind(idle, 'keepalive').notes.join(' '), /TCP_USER_TIMEOUT to 9s/);
    // A tight target still fits: 1 s idle, then two probes, by 3.096 s (3 s is 96 ms short).
    const tight = tune({
      ...base,
      withinMs: 3100,
      workload: parseWorkload('idle'),
      idleTimeoutMs: null,
    });
    assert.deepEqual(
      byKind(tight, 'keepalive').strategy,
      parseStrategy('keepalive:idle=1s,interval=1s,count=2'),
    );
    // The kernel takes at most 32767 s of idle.
    const long = tune({
      ...base,
      withinMs: 16 * 3_600_000,
      workload: parseWorkload('idle'),
      idleTimeoutMs: null,
    });
    assert.equal((byKind(long, 'keepalive').strategy as { idleMs: number }).idleMs, 32_767_000);
  });

  it('NATS: the smallest maxPingOut that tolerates enough, so the pings are as rare as they can be', () => {
    const nats = (withinMs: number, tolerateMs: number, idleTimeoutMs: number | null = null) =>
      tune({
        target: 'nats',
        workload: parseWorkload('idle'),
        qos: 0,
        withinMs,
        tolerateMs,
        idleTimeoutMs,
      })[0]!.strategy;
    assert.deepEqual(
      nats(10_000, 1000),
      parseStrategy('nats:ping=5s,maxout=1,wait=2s,attempts=-1'),
    );
    assert.deepEqual(
      nats(10_000, 7000),
      parseStrategy('nats:ping=2500ms,maxout=3,wait=2s,attempts=-1'),
    );
    // An idle timeout of 5 s caps the ping at 4 s: three of them tolerate a 10 s late PONG.
    assert.deepEqual(
      nats(60_000, 10_000, 5000),
      parseStrategy('nats:ping=4s,maxout=3,wait=2s,attempts=-1'),
    );
  });

  it('MQTT counts keepalive in whole seconds: a tight target with a loose tolerance cannot be met', () => {
    const [r] = tune({
      target: 'mqtt',
      workload: parseWorkload('idle'),
      qos: 0,
      withinMs: 3000,
      tolerateMs: 2000,
      idleTimeoutMs: null,
    });
    assert.equal(r!.strategy, null);
    assert.match(r!.why, /PINGRESP 1s late, less than the 2s asked for/);
  });
});

describe('halfopen tune (CLI)', () => {
  // In-process: the command's own checks, before it computes or measures anything.
  const bad: [string, Partial<TuneFlags>, RegExp][] = [
    ['no target time', { target: 'nats' }, /--within is required/],
    [
      'tolerance over the target',
      { within: '2s', tolerate: '3s' },
      /must be shorter than --within/,
    ],
    ['unknown target', { target: 'amqp', within: '5s' }, /amqp/],
    ['subscribe on tcp', { within: '5s', workload: 'subscribe:1' }, /needs a target that pushes/],
    ['testbed without verify', { within: '5s', testbed: 'proxy' }, /--verify only/],
    ['idle timeout too short', { within: '5s', idleTimeout: '10ms' }, /at least 1s/],
  ];
  for (const [name, flags, re] of bad)
    it(`bad input, ${name}: one line, exit 2`, async () => {
      await assertBadInput(
        () => tuneCommand(tuneFlags(flags), new AbortController().signal),
        re,
        name,
      );
    });

  it('explains each setting and how to check it; --json carries the same', async () => {
    const r = await cli([
      '--target',
      'grpc',
      '--within',
      '10s',
      '--tolerate',
      '2s',
      '--idle-timeout',
      '350s',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /grpc:time=8s,timeout=2s,without-calls=true/);
    assert.match(r.stdout, /too_many_pings/);
    assert.match(r.stdout, /check it +halfopen run --target grpc --strategy/);
    const j = await cli(['--target', 'grpc', '--within', '10s', '--tolerate', '2s', '--json']);
    const out = j.json<{ recommendations: { strategy: string; predicted_ms: number[] }[] }>();
    assert.equal(out.recommendations[0]!.strategy, 'grpc:time=8s,timeout=2s,without-calls=true');
    assert.deepEqual(out.recommendations[0]!.predicted_ms, [2000, 10_000]);
  });
});

describe('tune --verify exit code', () => {
  const check = (passed: boolean, error?: string): Verification => ({
    partition: { testbed: 'netns', detect_ms: passed ? 4000 : null, in_time: passed },
    slow_path: null,
    passed,
    ...(error === undefined ? {} : { error }),
  });
  it('is 3 when a measured setting failed, 0 when all passed or could not be measured', () => {
    assert.equal(verifyExitCode([check(true), null, check(true)]), 0);
    assert.equal(verifyExitCode([check(true), check(false)]), 3);
    // Not measured (the lab failed, or the cluster's CNI left no silent path): reported, not judged.
    assert.equal(verifyExitCode([check(true), check(false, 'the lab failed')]), 0);
  });
});

describe('halfopen tune --verify', { skip: netnsSkip }, () => {
  it('measures each setting: in time through a partition, no false disconnect on a slow path', async () => {
    // Within 8 s, tolerating 2 s: a heartbeat (6 s / 2 s) and keepalive (6 s idle, 2 x 1 s) for
    // an idle TCP client, each through a partition on netns, the heartbeat also through a path
    // 800 ms slower each way: its pongs come 1.6 s late, 0.4 s inside its timeout, which a loaded
    // two-core machine keeps.
    const r = await cli([
      '--target',
      'tcp',
      '--within',
      '8s',
      '--tolerate',
      '2s',
      '--verify',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const { stdout } = r;
    const out = r.json<{
      recommendations: {
        strategy: string | null;
        verified: {
          partition: { detect_ms: number | null; in_time: boolean };
          slow_path: { false_disconnect: boolean } | null;
          passed: boolean;
        } | null;
      }[];
    }>();
    const measured = out.recommendations.filter((r) => r.strategy !== null);
    assert.equal(measured.length, 2, stdout);
    for (const r of measured) {
      assert.ok(r.verified, `${r.strategy} was measured`);
      assert.ok(r.verified.partition.in_time, `${r.strategy}: ${JSON.stringify(r.verified)}`);
      assert.equal(r.verified.passed, true, `${r.strategy}: ${JSON.stringify(r.verified)}`);
    }
    const heartbeat = measured.find((r) => r.strategy!.startsWith('heartbeat'))!;
    assert.equal(heartbeat.verified!.slow_path?.false_disconnect, false, 'rode out the slow path');
    const keepalive = measured.find((r) => r.strategy!.startsWith('keepalive'))!;
    assert.equal(
      keepalive.verified!.slow_path,
      null,
      "the proxy's kernel would answer for the peer",
    );
  });
});
