/** Parsing and formulas: pure functions, checked against numbers from facts.md. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { allowanceMs, predict, verdict } from '../src/advise/predict.js';
import {
  PTO_MAX_MS,
  retransmissionTimeoutMs,
  retransmissionWindowMs,
  timerSlackMs,
} from '../src/core/tcp.js';
import { BadInputError } from '../src/errors.js';
import type { TimelineEntry } from '../src/events.js';
import { computeMetrics } from '../src/runner/metrics.js';
import {
  formatStrategy,
  parseStrategy,
  parseSysctl,
  parseWorkload,
  validateSpec,
  type ExperimentSpec,
} from '../src/scenario/spec.js';
import { parseDuration } from '../src/util/duration.js';
import { assertBadInput, specOf } from './helpers.js';
import { durationParam, mergeFields } from '../src/faults/index.js';
import { faultLabel } from '../src/report/cells.js';

/** An idle TCP client without probes through a partition, with a 30 s deadline. */
const base = specOf({ deadlineMs: 30_000 });

describe('strategy, workload, duration and sysctl parsing', () => {
  it('parses every strategy form and prints it back', () => {
    for (const text of [
      'none',
      'keepalive:idle=2s,interval=1s,count=3',
      'user-timeout:3s',
      'user-timeout:1500ms',
      'heartbeat:interval=1s,timeout=2s',
      'nats:ping=5s,maxout=2,wait=2s,attempts=60',
      'nats:ping=500ms,maxout=1,wait=250ms,attempts=-1',
      'mqtt:keepalive=10s,reconnect=1s',
      'mqtt:keepalive=0s,reconnect=250ms',
      'ws:ping=1s,timeout=500ms,side=client',
      'ws:ping=30s,timeout=1s,side=both',
      'grpc:time=10s,timeout=20s,without-calls=true',
      'h2:ping=1s,timeout=2s',
    ]) {
      assert.equal(formatStrategy(parseStrategy(text)), text);
    }
    // What the user leaves out is the library's default (nats.js, MQTT.js).
    assert.deepEqual(parseStrategy('nats:ping=2m,maxout=2'), {
      kind: 'nats',
      pingMs: 120_000,
      maxOut: 2,
      waitMs: 2000,
      attempts: 10,
      lib: 'js',
    });
    assert.deepEqual(parseStrategy('mqtt:keepalive=60s'), {
      kind: 'mqtt',
      keepaliveMs: 60_000,
      reconnectMs: 1000,
      lib: 'js',
      pingTimeoutMs: 10_000,
    });
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
      ['nats:ping=1s', /missing 'maxout='/],
      ['nats:ping=1s,maxout=2,attempts=0', /attempts must be -1/],
      ['nats:ping=1000h,maxout=2', /from 1ms to 24h/],
      ['mqtt:keepalive=2.5s', /whole seconds/],
      ['mqtt:keepalive=70000s', /whole seconds from 0s to 65535s/],
      ['ws:ping=1s', /missing 'timeout='/],
      [
        'ws:ping=1s,timeout=1s,side=proxy',
        /side 'proxy' is unknown \(expected one of: client, server, both\)/,
      ],
      ['grpc:time=1s,timeout=1s,without-calls=yes', /without-calls 'yes' must be true or false/],
      ['h2:ping=0s,timeout=1s', /from 1ms to 24h/],
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
    const nats = {
      ...base,
      target: 'nats' as const,
      strategy: parseStrategy('nats:ping=1s,maxout=2'),
    };
    assert.doesNotThrow(() => validateSpec(nats));
    assert.throws(() => validateSpec({ ...nats, strategy: { kind: 'none' } }), /does not apply/);
    assert.throws(() => validateSpec({ ...nats, qos: 1 }), /mqtt only/);
    assert.throws(
      () => validateSpec({ ...base, workload: parseWorkload('subscribe:5') }),
      /the tcp server only receives/,
    );
    assert.doesNotThrow(() =>
      validateSpec({ ...base, target: 'ws', workload: parseWorkload('subscribe:5') }),
    );
    assert.throws(() => validateSpec({ ...nats, fault: 'reset', restartMs: 1000 }), /--restart/);
    assert.throws(() => validateSpec({ ...nats, fault: 'kill', restartMs: 40_000 }), /shorter/);
    assert.throws(
      () => validateSpec({ ...base, fault: 'kill', healMs: 1000 }),
      /partition fault only/,
    );
    assert.throws(() => validateSpec({ ...base, healMs: 40_000 }), /shorter than --deadline/);
    const idle = { ...base, fault: 'idle-timeout' as const };
    assert.throws(() => validateSpec(idle), /needs --idle-timeout/);
    const after = (ms: number) => ({ ...idle, idleTimeout: { ms, onExpiry: 'drop' as const } });
    assert.doesNotThrow(() => validateSpec(after(2000)));
    assert.throws(() => validateSpec(after(1500)), /whole seconds/);
    assert.throws(
      () => validateSpec({ ...after(2000), fault: 'partition' }),
      /idle-timeout fault only/,
    );
    // The fault proxy keeps its own clock: any duration from 100 ms.
    assert.doesNotThrow(() => validateSpec({ ...after(1500), testbed: 'proxy' }));
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

  it("the timer wheel's granularity at HZ=250: how late a kernel timer may fire", () => {
    assert.equal(timerSlackMs(200), 4); // 50 jiffies: level 0
    assert.equal(timerSlackMs(1000), 32); // 250 jiffies: level 1, 8 jiffies
    assert.equal(timerSlackMs(2000), 32); // 500 jiffies, under 504
    assert.equal(timerSlackMs(2020), 256); // 505 jiffies: level 2
    assert.equal(timerSlackMs(75_000), 2048); // tcp_keepalive_intvl: level 3
    assert.equal(timerSlackMs(7_200_000), 131_072); // tcp_keepalive_time: level 5
  });

  it('keepalive idle window is (count x interval, idle + count x interval + timer-wheel steps]', () => {
    const p = predict({
      ...base,
      strategy: parseStrategy('keepalive:idle=2s,interval=1s,count=3'),
    });
    // Measured here: probes 1024 ms apart (1 s rounded up to 8 jiffies), the first 0-32 ms after
    // idle; detection 75-105 ms after last ACK + idle + count x interval.
    assert.deepEqual(p.window, [3000, 5000 + 32 + 3 * 32]);
    const reset = predict({
      ...base,
      fault: 'reset',
      strategy: parseStrategy('keepalive:idle=2s,interval=1s,count=3'),
    });
    assert.deepEqual(reset.window, [0, 2032]);
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

  it('NATS: (maxout x ping, (maxout + 1) x ping], whatever the workload', () => {
    for (const workload of ['idle', 'publish:10', 'subscribe:10'])
      assert.deepEqual(
        predict({
          ...base,
          target: 'nats',
          strategy: parseStrategy('nats:ping=5s,maxout=2'),
          workload: parseWorkload(workload),
        }).window,
        [10_000, 15_000],
      );
  });

  it('MQTT: (0.5 K, 1.5 K] after the last PINGRESP; QoS 1 PUBACKs pin it near 1.5 K', () => {
    const mqtt = { ...base, target: 'mqtt' as const, strategy: parseStrategy('mqtt:keepalive=2s') };
    assert.deepEqual(predict(mqtt).window, [1000, 3000]);
    const publishing = { ...mqtt, workload: parseWorkload('publish:10') };
    assert.deepEqual(predict(publishing).window, [1000, 3000], 'QoS 0 sends do not reschedule');
    assert.deepEqual(predict({ ...publishing, qos: 1 }).window, [2900, 3000]);
    const off = { ...mqtt, strategy: parseStrategy('mqtt:keepalive=0s') };
    assert.equal(predict(off).window, null, 'keepalive 0 never notices an idle silent path');
    // A reset meets the next PINGREQ, within K.
    assert.deepEqual(predict({ ...mqtt, fault: 'reset' }).window, [0, 2000]);
    // Publishing, the next message draws it; but MQTT.js keeps Nagle on, so a message written
    // after a segment whose ACK the fault cut off waits for the tail loss probe.
    const resetPublishing = {
      ...mqtt,
      fault: 'reset' as const,
      workload: parseWorkload('publish:20'),
    };
    assert.deepEqual(predict(resetPublishing).window, [0, PTO_MAX_MS]);
    assert.deepEqual(
      predict({ ...resetPublishing, target: 'tcp', strategy: { kind: 'none' } }).window,
      [0, 50],
      'TCP_NODELAY',
    );
    assert.deepEqual(
      predict({ ...resetPublishing, testbed: 'proxy' }).window,
      [0, 250],
      'the proxy resets both sides at once',
    );
  });

  it('ws, grpc and h2: heartbeat windows, and grpc pings only with a call or without-calls', () => {
    const at = (
      target: 'ws' | 'grpc' | 'h2',
      strategy: string,
      more: Partial<ExperimentSpec> = {},
    ) => predict({ ...base, target, strategy: parseStrategy(strategy), ...more }).window;
    for (const side of ['client', 'server', 'both'])
      assert.deepEqual(at('ws', `ws:ping=1s,timeout=2s,side=${side}`), [2000, 3000], side);
    assert.deepEqual(at('h2', 'h2:ping=1s,timeout=2s'), [2000, 3000]);
    assert.equal(at('grpc', 'grpc:time=1s,timeout=2s'), null, 'idle channel, no call: no ping');
    assert.deepEqual(at('grpc', 'grpc:time=1s,timeout=2s,without-calls=true'), [2000, 3000]);
    assert.deepEqual(
      at('grpc', 'grpc:time=1s,timeout=2s', { workload: parseWorkload('publish:10') }),
      [2000, 3000],
    );
    // reset: a client that pings draws the RST; ws side=server only listens, so its timer decides.
    assert.deepEqual(at('ws', 'ws:ping=1s,timeout=2s', { fault: 'reset' }), [0, 1000]);
    assert.deepEqual(
      at('ws', 'ws:ping=1s,timeout=2s,side=server', { fault: 'reset' }),
      [2000, 3000],
    );
    // Through a proxy, the default (no heartbeat) never notices; a heartbeat does.
    assert.equal(at('ws', 'none', { testbed: 'proxy' }), null);
    assert.deepEqual(at('h2', 'h2:ping=1s,timeout=2s', { testbed: 'proxy' }), [2000, 3000]);
  });

  it('node-loss with a replacement before the window: its RST bounds detection', () => {
    const nats = { ...base, target: 'nats' as const, fault: 'node-loss' as const };
    const slow = { ...nats, strategy: parseStrategy('nats:ping=5s,maxout=2') };
    assert.deepEqual(predict(slow).window, [10_000, 15_000]);
    const replaced = predict({ ...slow, restartMs: 2000 }).window!;
    assert.equal(replaced[0], 2000, 'not before the replacement is there');
    assert.ok(replaced[1] < 10_000, `the next ping after it draws the RST: ${replaced[1]}`);
    assert.deepEqual(predict({ ...slow, restartMs: 20_000 }).window, [10_000, 15_000]);
  });

  it('idle-timeout: traffic under the timeout keeps the flow; one source shifts the window by N', () => {
    const idle = (strategy: string, workload = 'idle', more: Partial<ExperimentSpec> = {}) =>
      predict({
        ...base,
        fault: 'idle-timeout',
        idleTimeout: { ms: 2000, onExpiry: 'drop' },
        strategy: parseStrategy(strategy),
        workload: parseWorkload(workload),
        ...more,
      });
    // A heartbeat every second never lets the flow idle for 2 s.
    const kept = idle('heartbeat:interval=1s,timeout=2s');
    assert.equal(kept.window, null);
    assert.match(kept.why, /never forgets the flow/);
    // keepalive probes every 4 s: forgotten, then the partition window (2 s, 6 s] from then,
    // and the kernel timers' steps (256 ms for 4 s, 32 ms for each 1 s interval).
    assert.deepEqual(idle('keepalive:idle=4s,interval=1s,count=2').window, [4000, 8320]);
    // With RST on expiry the next probe is the detection: (N, N + idle].
    const reset = { idleTimeout: { ms: 2000, onExpiry: 'reset' as const } };
    assert.deepEqual(
      idle('keepalive:idle=4s,interval=1s,count=2', 'idle', reset).window,
      [2000, 6256],
    );
    // Pings every 2 s through a 2 s timeout: a round trip decides; no window.
    assert.equal(idle('heartbeat:interval=2s,timeout=1s').unknown, true);
    // Nothing crosses an idle socket without probes, and nothing ever tells it.
    assert.equal(idle('none').window, null);
    // Two sources (pings every 3 s, messages every 4 s): their phases decide; no window.
    const nats = idle('nats:ping=3s,maxout=2', 'publish:0.25', { target: 'nats' });
    assert.equal(nats.unknown, true);
    // Two sparse sources: a gap of N opens within a bounded time; the window widens with it.
    const sparse = idle('heartbeat:interval=10s,timeout=1s', 'publish:0.1').window!;
    assert.equal(sparse[0], 3000);
    assert.ok(sparse[1] > 13_000 && sparse[1] < 30_000, `bounded: ${sparse[1]}`);
    // nats-server pings too: every 2 min, which only a long run sees, and once 2-2.4 s after
    // it accepted the connection (0.8-1.4 s after T0 with a 1 s warmup, allowing 200 ms for the
    // client's handshake), which restarts the clock: (10 s, 15 s] moves by 2.8-3.4 s. With a 3 s
    // warmup that ping came before T0 and changes nothing.
    const early = { target: 'nats' as const, warmupMs: 3000 };
    const long = idle('nats:ping=5s,maxout=2', 'idle', { ...early, deadlineMs: 200_000 });
    assert.ok(long.window && long.window[1] > 17_000);
    assert.deepEqual(idle('nats:ping=5s,maxout=2', 'idle', early).window, [12_000, 17_000]);
    assert.deepEqual(
      idle('nats:ping=5s,maxout=2', 'idle', { target: 'nats' }).window,
      [12_800, 18_400],
    );
  });

  it("verdicts allow 25 ms + 1 % of the bound, plus the lab's measured lateness", () => {
    assert.equal(verdict(4000, [3000, 5000]), 'inside');
    assert.equal(verdict(5074, [3000, 5000]), 'inside'); // within 25 ms + 1 %
    assert.equal(verdict(5076, [3000, 5000]), 'late');
    assert.equal(verdict(2946, [3000, 5000]), 'inside');
    assert.equal(verdict(2944, [3000, 5000]), 'early');
    // The lab's timers ran up to 40 ms late, and the fault took 30 ms to be in force: the late
    // side allows both, the early side the lateness only.
    const lab = { latenessMs: 40, applyMs: 30 };
    assert.deepEqual(allowanceMs([3000, 5000], lab), [95, 145]);
    assert.equal(verdict(5140, [3000, 5000], Infinity, false, lab), 'inside');
    assert.equal(verdict(5150, [3000, 5000], Infinity, false, lab), 'late');
    assert.equal(verdict(2910, [3000, 5000], Infinity, false, lab), 'inside');
    assert.equal(verdict(2900, [3000, 5000], Infinity, false, lab), 'early');
    assert.equal(verdict(6000, [3000, 5000]), 'late');
    assert.equal(verdict(1000, [3000, 5000]), 'early');
    assert.equal(verdict(null, [3000, 5000]), 'not detected');
    assert.equal(verdict(null, [3000, 5000], 2000), 'beyond deadline');
    assert.equal(verdict(null, null), 'not detected (as predicted)');
    assert.equal(verdict(10, null), 'detected (predicted never)');
  });
});

describe('metrics: who sends and who receives follows the workload', () => {
  // A hand-written timeline of a subscribing client: the far side (sink) publishes 1..4, the
  // partition (T0 at 100 ms) hides 2 and 3, detection at 250 ms, heal at 400 ms, 4 arrives.
  const at = (ms: number): bigint => BigInt(ms * 1e6);
  const timeline: TimelineEntry[] = [
    { t: at(0), src: 'client', type: 'connected', attempt: 1 },
    { t: at(50), src: 'sink', type: 'sent', seq: 1 },
    { t: at(51), src: 'client', type: 'recv', seq: 1 },
    { t: at(100), src: 'lab', type: 'fault', name: 'partition', phase: 'start' },
    { t: at(150), src: 'sink', type: 'sent', seq: 2 },
    { t: at(200), src: 'sink', type: 'sent', seq: 3 },
    { t: at(250), src: 'client', type: 'detected', reason: 'stale-connection' },
    { t: at(400), src: 'lab', type: 'heal', phase: 'applied' },
    { t: at(450), src: 'sink', type: 'sent', seq: 4 },
    { t: at(460), src: 'client', type: 'recv', seq: 4 },
    { t: at(470), src: 'client', type: 'recv', seq: 4 },
  ];
  it('subscribe: the sink sends, the client receives', () => {
    const m = computeMetrics(timeline, {
      reconnectFrom: 'heal',
      workload: 'subscribe',
      deadlineMs: 10_000,
    });
    assert.equal(m.detect_ms, 150);
    assert.equal(m.sent, 4);
    assert.equal(m.stale_sent, 2);
    assert.equal(m.lost, 2);
    assert.equal(m.duplicates, 1);
    assert.equal(m.reconnect_ms, 60);
  });
  it("timer lateness: the client's and the target's largest, from 1 s before T0 to detection", () => {
    const late = (ms: number, src: 'client' | 'target' | 'sink', max: number): TimelineEntry => ({
      t: at(ms),
      src,
      type: 'lateness',
      max_ms: max,
      p99_ms: max,
      period_ms: 500,
    });
    const m = (extra: TimelineEntry[]) =>
      computeMetrics(
        [...timeline, ...extra].sort((a, b) => (a.t < b.t ? -1 : 1)),
        {
          reconnectFrom: 'heal',
          workload: 'subscribe',
          deadlineMs: 10_000,
        },
      ).timer_lateness_ms;
    assert.equal(m([]), null, 'nothing reported');
    // Covers (-400, 100]: inside the look-back; (250, 750] starts after the detection at 250.
    assert.equal(m([late(100, 'client', 12), late(750, 'client', 90)]), 12);
    // (-1500, -1000] ends before the look-back; the sink's does not count; the target's does.
    assert.equal(m([late(-1000, 'client', 70), late(300, 'sink', 80), late(300, 'target', 9)]), 9);
  });
  it('publish: the same events count nothing the client did not send', () => {
    const m = computeMetrics(timeline, {
      reconnectFrom: 'heal',
      workload: 'publish',
      deadlineMs: 10_000,
    });
    assert.equal(m.sent, 0);
    assert.equal(m.reconnect_ms, null);
  });
});

describe("a fault's own parameters", () => {
  it('a duration parameter defined in a fault file fills the spec, validates and labels it', async () => {
    const lag = durationParam('endpoint_lag', 'the endpoint leaves the rules this long after T0', {
      required: true,
    });
    const flags = (key: string): string => `--${key.replace(/_/g, '-')}`;
    assert.deepEqual(lag.fill({}, flags), {}, 'not given: nothing filled');
    const fields = mergeFields(
      { healMs: null, restartMs: null, params: { grace: 30_000 } },
      {
        ...lag.fill({ endpoint_lag: '1.5s' }, flags),
      },
    );
    assert.deepEqual(fields.params, { grace: 30_000, endpoint_lag: 1500 }, 'merged, not replaced');
    assert.equal(lag.given(fields), true);
    assert.equal(lag.read(fields), 1500);
    assert.equal(lag.given({ healMs: null, restartMs: null }), false);
    await assertBadInput(() => lag.fill({ endpoint_lag: 'soon' }, flags), /--endpoint-lag: 'soon'/);
    assert.equal(
      faultLabel({ fault: 'partition', healMs: null, restartMs: null, params: fields.params }),
      'partition grace 30 s, endpoint lag 1.5 s',
    );
  });
});
