/** Parsing and formulas: pure functions, checked against numbers from facts.md. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { predict, verdict } from '../src/advise/predict.js';
import { retransmissionTimeoutMs, retransmissionWindowMs } from '../src/advise/tcp.js';
import { BadInputError } from '../src/errors.js';
import {
  formatStrategy,
  parseStrategy,
  parseSysctl,
  parseWorkload,
  validateSpec,
  type ExperimentSpec,
} from '../src/scenario/spec.js';
import { parseDuration } from '../src/util/duration.js';

const base: ExperimentSpec = {
  testbed: 'netns',
  target: 'tcp',
  strategy: { kind: 'none' },
  workload: { kind: 'idle' },
  fault: 'partition',
  healMs: null,
  restartMs: null,
  qos: 0,
  deadlineMs: 30_000,
  warmupMs: 1000,
  sysctls: {},
};

describe('strategy, workload, duration and sysctl parsing', () => {
  it('parses every strategy form and prints it back', () => {
    for (const text of [
      'none',
      'keepalive:idle=2s,interval=1s,count=3',
      'user-timeout:3s',
      'user-timeout:1500ms',
      'heartbeat:interval=1s,timeout=2s',
    ]) {
      assert.equal(formatStrategy(parseStrategy(text)), text);
    }
    assert.deepEqual(parseStrategy('keepalive:count=3,idle=2s,interval=1s'), {
      kind: 'keepalive',
      idleMs: 2000,
      intervalMs: 1000,
      count: 3,
    });
  });

  it('rejects bad strategies with one line naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['keepalive:idle=2s,interval=1s', /missing 'count='/],
      ['keepalive:idle=500ms,interval=1s,count=3', /whole seconds/],
      ['keepalive:idle=2s,interval=1s,count=0', /count '0'/],
      ['heartbeat:interval=1s', /missing 'timeout='/],
      ['heartbeat:interval=1s,timeout=2s,extra=1', /'extra=1' is not one of/],
      ['user-timeout', /user-timeout:<duration>/],
      ['user-timeout:fast', /not a duration/],
      ['bogus', /unknown/],
      ['none:x', /takes no options/],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseStrategy(text),
        (e: unknown) =>
          e instanceof BadInputError && re.test(e.message) && !e.message.includes('\n'),
        text,
      );
    }
  });

  it('parses workloads, durations and sysctls', () => {
    assert.deepEqual(parseWorkload('publish:20'), { kind: 'publish', rate: 20 });
    assert.throws(() => parseWorkload('publish:0'), BadInputError);
    assert.throws(() => parseWorkload('flood'), BadInputError);
    assert.equal(parseDuration('250ms', 'x'), 250);
    assert.equal(parseDuration('1.5s', 'x'), 1500);
    assert.equal(parseDuration('2m', 'x'), 120_000);
    assert.deepEqual(parseSysctl('tcp_retries2=5', {}), { tcp_retries2: 5 });
    assert.deepEqual(parseSysctl('net.ipv4.tcp_retries2=5', {}), { tcp_retries2: 5 });
    assert.throws(() => parseSysctl('ip_forward=1', {}), /not allowed/);
    assert.throws(() => parseSysctl('tcp_retries2=0', {}), /from 1 to 255/);
  });

  it('checks cross-field rules', () => {
    assert.throws(
      () => validateSpec({ ...base, fault: 'kill', healMs: 1000 }),
      /partition fault only/,
    );
    assert.throws(() => validateSpec({ ...base, healMs: 40_000 }), /shorter than --deadline/);
  });
});

describe('predicted windows (facts.md)', () => {
  it('retransmission timeout follows tcp_model_timeout: 924.6 s at tcp_retries2=15', () => {
    assert.equal(retransmissionTimeoutMs(15), 924_600);
    assert.equal(retransmissionTimeoutMs(5), 12_600);
    assert.equal(retransmissionTimeoutMs(9), 204_600);
    assert.equal(retransmissionTimeoutMs(10), 324_600);
    const [min, max] = retransmissionWindowMs(5);
    assert.equal(min, 12_600);
    assert.ok(max > min && max < min * 1.1);
  });

  it('keepalive idle window is (count x interval, idle + count x interval]', () => {
    const p = predict({
      ...base,
      strategy: parseStrategy('keepalive:idle=2s,interval=1s,count=3'),
    });
    assert.deepEqual(p.window, [3000, 5000]);
  });

  it('heartbeat window is (timeout, interval + timeout]', () => {
    assert.deepEqual(
      predict({ ...base, strategy: parseStrategy('heartbeat:interval=1s,timeout=2s') }).window,
      [2000, 3000],
    );
  });

  it('an idle socket without probes is never detected on a silent path or by a reset', () => {
    assert.equal(predict(base).window, null);
    assert.equal(predict({ ...base, strategy: parseStrategy('user-timeout:3s') }).window, null);
    assert.equal(predict({ ...base, fault: 'reset' }).window, null);
  });

  it('verdicts compare with a stated tolerance', () => {
    assert.equal(verdict(4000, [3000, 5000]), 'inside');
    assert.equal(verdict(5300, [3000, 5000]), 'inside'); // within 150 ms + 5 %
    assert.equal(verdict(6000, [3000, 5000]), 'late');
    assert.equal(verdict(1000, [3000, 5000]), 'early');
    assert.equal(verdict(null, [3000, 5000]), 'not detected');
    assert.equal(verdict(null, [3000, 5000], 2000), 'beyond deadline');
    assert.equal(verdict(null, null), 'not detected (as predicted)');
    assert.equal(verdict(10, null), 'detected (predicted never)');
  });
});
