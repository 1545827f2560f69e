/**
 * The experiment's result as a pure function of what it recorded, on hand-built timelines; and
 * the runner's questions about a spec. In-process, no root, no testbed.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { predict } from '../src/advise/predict.js';
import { LabError } from '../src/errors.js';
import type { LabEvent, TimelineEntry } from '../src/events.js';
import type { ClientEvent, SinkEvent, TargetEvent } from '../src/events.js';
import { buildResult, type ResultInputs } from '../src/runner/result.js';
import {
  embeddedStandIn,
  qosOf,
  reconnectFrom,
  sinkMayDie,
  targetPushes,
  testbedOptions,
} from '../src/runner/spec-questions.js';
import { parseWorkload, type ExperimentSpec, type FaultName } from '../src/scenario/spec.js';
import { FAULT_DEFS } from '../src/faults/index.js';
import { PROTOCOLS } from '../src/protocols/index.js';
import { specOf } from './helpers.js';

/** A timeline on a made-up clock: `ms` from an arbitrary origin, T0 at 10 s. */
const T0_MS = 10_000;
const at = (ms: number): bigint => BigInt(Math.round((T0_MS + ms) * 1e6));
const client = (ms: number, e: ClientEvent): TimelineEntry => ({ t: at(ms), src: 'client', ...e });
const target = (ms: number, e: TargetEvent): TimelineEntry => ({ t: at(ms), src: 'target', ...e });
const sink = (ms: number, e: SinkEvent): TimelineEntry => ({ t: at(ms), src: 'sink', ...e });
const lab = (ms: number, e: LabEvent): TimelineEntry => ({ t: at(ms), src: 'lab', ...e });

/**
 * A TCP client publishing through a partition healed at 3 s: messages 1-3 arrive before T0,
 * 4 and 5 are accepted after it and lost, its heartbeat gives up at 2.5 s, message 6 arrives
 * 400 ms after the heal.
 */
function partitionTimeline(): TimelineEntry[] {
  const sockopts = { keepalive: true, keepidle_s: 1 };
  return [
    target(-2000, { type: 'listening', address: '0.0.0.0', port: 7000 }),
    client(-1500, { type: 'connected', attempt: 1, sockopts }),
    client(-1400, { type: 'status', name: 'ready', detail: 'first' }),
    client(-1000, { type: 'sent', seq: 1 }),
    target(-999, { type: 'recv', seq: 1 }),
    client(-500, { type: 'sent', seq: 2 }),
    target(-499, { type: 'recv', seq: 2 }),
    client(-100, { type: 'sent', seq: 3 }),
    target(-99, { type: 'recv', seq: 3 }),
    lab(0, { type: 'fault', name: 'partition', phase: 'start' }),
    lab(4.56, { type: 'fault', name: 'partition', phase: 'applied' }),
    client(400, { type: 'sent', seq: 4 }),
    client(900, { type: 'sent', seq: 5 }),
    client(2500, { type: 'detected', reason: 'heartbeat-timeout' }),
    client(2501, { type: 'status', name: 'close' }),
    lab(3000, { type: 'heal', phase: 'start' }),
    lab(3001, { type: 'heal', phase: 'applied' }),
    client(3200, { type: 'connected', attempt: 2, sockopts: { keepalive: false } }),
    client(3300, { type: 'sent', seq: 6 }),
    target(3401, { type: 'recv', seq: 6 }),
    lab(3900, { type: 'stop', reason: 'complete' }),
  ];
}

function inputs(more: Partial<ResultInputs> = {}): ResultInputs {
  const s = specOf({
    strategy: 'heartbeat:interval=1s,timeout=2s',
    workload: 'publish:2',
    fault: 'partition',
    healMs: 3000,
    deadlineMs: 8000,
  });
  return {
    spec: s,
    prediction: predict(s),
    entries: partitionTimeline(),
    counters: { 'partition:0': 4, 'partition:1': 0 },
    targetVersion: 'halfopen tcp server',
    clientLibrary: 'node:net (test)',
    flow: {
      client: { address: '198.18.0.1', port: 40000 },
      server: { address: '198.18.0.6', port: 7000 },
    },
    ...more,
  };
}

describe('the result, from a hand-built timeline', () => {
  it('a healed partition: every field, the same JSON the reports read', () => {
    const r = buildResult(inputs());
    const p = inputs().prediction;
    assert.deepEqual(r, {
      testbed: 'netns',
      target: 'tcp',
      target_version: 'halfopen tcp server',
      client: 'node:net (test)',
      strategy: 'heartbeat:interval=1s,timeout=2s',
      workload: 'publish:2',
      qos: null,
      fault: 'partition',
      heal_ms: 3000,
      restart_ms: null,
      latency: null,
      idle_timeout: null,
      deadline_ms: 8000,
      sysctls: {},
      detect_ms: 2500,
      detect_reason: 'heartbeat-timeout',
      stale_sent: 2,
      lost: 2,
      duplicates: 0,
      sent: 6,
      received: 4,
      reconnect_ms: 400,
      false_disconnects: 0,
      heal_at_ms: 3001,
      lost_from: 'accepted',
      predicted_ms: p.window ? [p.window[0], p.window[1]] : null,
      predicted_why: p.why,
      verdict: 'inside',
      wire: { 'partition:0': 4, 'partition:1': 0 },
      // The first connection's, not the reconnect's.
      sockopts: { keepalive: true, keepidle_s: 1 },
      fault_apply_ms: 4.6,
      // [2 s, 3 s]: 25 ms + 1 % below the min; above the max the same, plus the 4.6 ms the fault
      // took to be in force (no lateness reported in this timeline).
      allowance_ms: [45, 59.6],
      timer_lateness_ms: null,
      flow: { client: '198.18.0.1:40000', server: '198.18.0.6:7000' },
      fault_params: {},
      kube: null,
      events: [
        { at_ms: -1400, name: 'ready', detail: 'first' },
        { at_ms: 2501, name: 'close' },
      ],
    });
    assert.deepEqual(p.window, [2000, 3000], 'the prediction the verdict was checked against');
  });

  it('is pure: the same inputs give the same result, and the inputs are left as they were', () => {
    const given = inputs();
    const before = JSON.stringify(given, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    assert.deepEqual(buildResult(given), buildResult(given));
    assert.equal(
      JSON.stringify(given, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      before,
    );
  });

  it('the deadline: no detection, no reconnect, no flow, no applied mark', () => {
    const entries = partitionTimeline().filter(
      (e) =>
        !(e.src === 'client' && e.type === 'detected') &&
        !(e.src === 'lab' && e.type === 'fault' && e.phase === 'applied') &&
        !(e.src === 'target' && e.type === 'recv' && e.seq === 6),
    );
    const r = buildResult(inputs({ entries, flow: null }));
    assert.equal(r.detect_ms, null);
    assert.equal(r.detect_reason, null);
    assert.equal(r.verdict, 'not detected');
    assert.equal(r.reconnect_ms, null);
    assert.equal(r.fault_apply_ms, null);
    assert.equal(r.flow, null);
    assert.equal(r.stale_sent, 3, 'every message after T0 was accepted before a detection');
  });

  it('a detection before T0 is a false disconnect, not the measurement', () => {
    const entries = [
      client(-800, { type: 'detected', reason: 'error', code: 'ECONNRESET' }),
      ...partitionTimeline(),
    ];
    const r = buildResult(inputs({ entries }));
    assert.equal(r.false_disconnects, 1);
    assert.equal(r.detect_ms, 2500);
  });

  it('a subscribing MQTT client: QoS reported, deliveries counted at the client', () => {
    const s = specOf({
      target: 'mqtt',
      strategy: 'mqtt:keepalive=2s',
      workload: 'subscribe:10',
      fault: 'kill',
      restartMs: 1000,
      qos: 1,
    });
    const entries = [
      client(-900, { type: 'connected', attempt: 1 }),
      sink(-500, { type: 'sent', seq: 1 }),
      client(-490, { type: 'recv', seq: 1 }),
      lab(0, { type: 'fault', name: 'kill', phase: 'start' }),
      lab(1, { type: 'target_signal', signal: 'SIGKILL' }),
      lab(2, { type: 'fault', name: 'kill', phase: 'applied' }),
      client(15, { type: 'detected', reason: 'close' }),
      sink(500, { type: 'sent', seq: 2 }),
      lab(1000, { type: 'restart', phase: 'start' }),
      lab(1300, { type: 'restart', phase: 'applied' }),
      sink(1400, { type: 'sent', seq: 3 }),
      client(1450, { type: 'recv', seq: 3 }),
      client(1460, { type: 'recv', seq: 3 }),
    ];
    const r = buildResult({
      spec: s,
      prediction: predict(s),
      entries,
      counters: {},
      targetVersion: 'mosquitto 2.0.11',
      clientLibrary: 'mqtt (test)',
      flow: null,
    });
    assert.equal(r.qos, 1);
    assert.equal(r.restart_ms, 1000);
    assert.equal(r.detect_ms, 15);
    assert.equal(r.sent, 3);
    assert.equal(r.received, 2);
    assert.equal(r.lost, 1);
    assert.equal(r.duplicates, 1);
    assert.equal(r.reconnect_ms, 150, 'from the restart to the first delivery after it');
    assert.deepEqual(r.sockopts, {}, 'no socket options reported: an empty object');
    assert.equal(r.fault_apply_ms, 2);
  });

  it('your own client: its command, and an unknown strategy unless declared', () => {
    const own = { command: 'python3 my_client.py', detectLog: null, declared: false };
    const s = specOf({ strategy: 'none', workload: 'idle', fault: 'partition', own });
    const r = buildResult(inputs({ spec: s, prediction: predict(s) }));
    assert.equal(r.client, 'your command: python3 my_client.py');
    assert.equal(r.strategy, 'unknown (your program)');
    assert.equal(r.verdict, 'measured (no prediction)');
    const declared = specOf({
      strategy: 'user-timeout:3s',
      workload: 'idle',
      fault: 'partition',
      own: { ...own, declared: true },
    });
    assert.equal(
      buildResult(inputs({ spec: declared, prediction: predict(declared) })).strategy,
      'user-timeout:3s',
    );
  });

  it('a timeline without the fault start (T0) is a lab error, not a result', () => {
    const entries = partitionTimeline().filter((e) => !(e.src === 'lab' && e.type === 'fault'));
    assert.throws(() => buildResult(inputs({ entries })), LabError);
  });
});

describe("the runner's questions about a spec", () => {
  it('reconnect is measured from the heal, the restart, the detection, or not at all', () => {
    assert.equal(
      reconnectFrom(
        specOf({ strategy: 'none', workload: 'idle', fault: 'partition', healMs: 2000 }),
      ),
      'heal',
    );
    assert.equal(
      reconnectFrom(specOf({ strategy: 'none', workload: 'idle', fault: 'kill', restartMs: 2000 })),
      'restart',
    );
    assert.equal(
      reconnectFrom(specOf({ strategy: 'none', workload: 'idle', fault: 'reset' })),
      'detection',
    );
    const idle = { ms: 3000, onExpiry: 'drop' as const };
    assert.equal(
      reconnectFrom(
        specOf({ strategy: 'none', workload: 'idle', fault: 'idle-timeout', idleTimeout: idle }),
      ),
      'detection',
    );
    for (const f of ['partition', 'kill', 'graceful', 'node-loss', 'ip-reuse'] as const)
      assert.equal(
        reconnectFrom(specOf({ strategy: 'none', workload: 'idle', fault: f })),
        null,
        f,
      );
  });

  /** A NATS client's spec with this fault and workload. */
  const natsSpec = (fault: FaultName, workload = 'idle'): ExperimentSpec =>
    specOf({ target: 'nats', strategy: 'nats:ping=1s,maxout=2', workload, fault });

  it('only ip-reuse may take the sink down', () => {
    assert.equal(sinkMayDie(natsSpec('ip-reuse')), true);
    assert.equal(sinkMayDie(natsSpec('kill')), false);
  });

  it("the lab's ws, gRPC and HTTP/2 servers push to a subscriber; brokers and tcp do not", () => {
    const sub = parseWorkload('subscribe:10');
    for (const target of ['ws', 'h2'] as const)
      assert.equal(targetPushes(specOf({ fault: 'kill', target, workload: sub })), true, target);
    assert.equal(targetPushes(specOf({ fault: 'kill', target: 'ws' })), false);
    assert.equal(targetPushes(natsSpec('kill', 'subscribe:10')), false);
  });

  it('QoS is reported for MQTT only', () => {
    assert.equal(
      qosOf(
        specOf({
          target: 'mqtt',
          strategy: 'mqtt:keepalive=2s',
          workload: 'idle',
          fault: 'kill',
          qos: 1,
        }),
      ),
      1,
    );
    assert.equal(
      // Not a spec validation accepts: qos is reported for MQTT only, whatever the spec holds.
      qosOf({ ...specOf({ strategy: 'none', workload: 'idle', fault: 'kill' }), qos: 1 }),
      null,
    );
  });

  it('an embedded broker stands in on the proxy testbed only', () => {
    const nats = specOf({
      target: 'nats',
      strategy: 'nats:ping=1s,maxout=2',
      workload: 'idle',
      fault: 'kill',
    });
    assert.equal(embeddedStandIn(nats), undefined);
    assert.equal(embeddedStandIn({ ...nats, testbed: 'proxy' }), PROTOCOLS.nats.target.embedded);
  });

  it("the testbed is built with the fault's own implementation for it", () => {
    const dead = specOf({ strategy: 'none', workload: 'idle', fault: 'proxy-dead-upstream' });
    assert.deepEqual(testbedOptions(dead), {
      testbed: 'netns',
      options: {
        clientSysctls: {},
        targetPort: PROTOCOLS.tcp.target.port,
        fault: FAULT_DEFS['proxy-dead-upstream'].testbeds.netns,
        spec: dead,
      },
    });
    const latency = { ms: 200, jitterMs: 10 };
    const slow = specOf({ fault: 'latency', testbed: 'proxy', latency });
    assert.deepEqual(testbedOptions(slow), {
      testbed: 'proxy',
      options: { fault: FAULT_DEFS.latency.testbeds.proxy },
    });
    // A fault a testbed does not have is refused before anything is built.
    assert.throws(
      () => testbedOptions({ ...slow, testbed: 'netns' }),
      /fault latency is not available on the netns testbed/,
    );
  });
});
