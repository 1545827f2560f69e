/**
 * The idle-timeout fault on real kernels: the router is a stateful middlebox (its own conntrack
 * table, no mid-stream pickup) whose established-flow timeout drops to N at T0. Whether the flow
 * survives depends only on what crosses it, and the tests check the user's questions: does my
 * heartbeat keep it alive, how long until I notice when it does not, what did I lose.
 *
 * Timings: N is 2 s and the warmup 1 s, so keepalive's first probe after T0 (5 s after the
 * connection opened) comes about T0 + 4 s, 2 s clear of the moment the flow is forgotten (T0 + 2 s),
 * which absorbs the warmup's overhead and the fault's few ms to apply on a loaded machine.
 * Windows are checked as verdicts, with the verdict's allowance (predict.ts allowanceMs): 25 ms
 * + 1 % of the bound, plus the lateness and fault-apply time the lab measured in that experiment.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ExpiryAction } from '../src/scenario/spec.js';
import { describeResult, measure, netnsSkip, specOf } from './helpers.js';

const after = (onExpiry: ExpiryAction, ms = 2000) => ({ idleTimeout: { ms, onExpiry } });
const KEEPALIVE = 'keepalive:idle=5s,interval=1s,count=2';
/**
 * The root namespace's own conntrack settings, which the lab must never touch. On a machine where
 * nothing had loaded nf_conntrack they appear with the router's first rule, at the kernel's
 * defaults.
 */
const KERNEL_DEFAULTS = ['1', '432000'];
const rootConntrack = (): string[] =>
  ['nf_conntrack_tcp_loose', 'nf_conntrack_tcp_timeout_established'].map((k) => {
    try {
      return readFileSync(`/proc/sys/net/netfilter/${k}`, 'utf8').trim();
    } catch {
      return 'absent';
    }
  });

describe(
  'idle-timeout (netns): a middlebox forgets idle flows',
  { skip: netnsSkip, concurrency: 4 },
  () => {
    it('keepalive probes rarer than the timeout: forgotten, the probes are dropped, ETIMEDOUT inside (4 s, 9.32 s]', async () => {
      const before = rootConntrack();
      const r = await measure(
        specOf({
          strategy: KEEPALIVE,
          workload: 'idle',
          fault: 'idle-timeout',
          ...after('drop'),
          deadlineMs: 12_000,
        }),
      );
      assert.equal(r.verdict, 'inside', describeResult(r));
      // 9 s, plus the kernel timers' steps: 256 ms for idle 5 s, 32 ms for each 1 s interval.
      assert.deepEqual(r.predicted_ms, [4000, 9320]);
      assert.equal(r.detect_reason, 'ETIMEDOUT');
      assert.ok(
        (r.wire['idle-timeout:0'] ?? 0) >= 2,
        `the router dropped the probes: ${JSON.stringify(r.wire)}`,
      );
      assert.ok(r.reconnect_ms !== null, 'a new connection passes at once');
      const expected = before.includes('absent') ? KERNEL_DEFAULTS : before;
      assert.deepEqual(
        rootConntrack(),
        expected,
        "the root namespace's conntrack settings are untouched",
      );
    });

    it('--on-expiry reset: the first probe into the forgotten flow draws an RST, inside (2 s, 7.26 s]', async () => {
      const r = await measure(
        specOf({
          strategy: KEEPALIVE,
          workload: 'idle',
          fault: 'idle-timeout',
          ...after('reset'),
          deadlineMs: 12_000,
        }),
      );
      assert.equal(r.verdict, 'inside', describeResult(r));
      assert.equal(r.detect_reason, 'ECONNRESET');
      assert.ok((r.wire['idle-timeout:0'] ?? 0) >= 1, 'the router answered with RST');
    });

    it('a heartbeat every second keeps the flow alive: nothing dropped, nothing detected', async () => {
      const r = await measure(
        specOf({
          strategy: 'heartbeat:interval=1s,timeout=2s',
          workload: 'idle',
          fault: 'idle-timeout',
          ...after('drop'),
          deadlineMs: 6000,
        }),
      );
      assert.equal(r.verdict, 'not detected (as predicted)', describeResult(r));
      assert.equal(r.wire['idle-timeout:0'] ?? 0, 0, 'no packet met a forgotten flow');
    });

    it('a publisher quieter than the timeout without probes: its messages vanish and it never knows', async () => {
      // One message every 4 s: each after the first 2 s finds the flow forgotten (the first may come
      // before, and cross); TCP retransmits for ~15 min.
      const r = await measure(
        specOf({
          strategy: 'none',
          workload: 'publish:0.25',
          fault: 'idle-timeout',
          ...after('drop'),
          deadlineMs: 9000,
        }),
      );
      assert.equal(r.detect_ms, null, describeResult(r));
      assert.equal(r.verdict, 'beyond deadline', describeResult(r));
      assert.ok(r.stale_sent! >= 2, `the API accepted messages after T0: ${describeResult(r)}`);
      assert.ok(
        r.lost >= 2 && r.lost >= r.stale_sent! - 1,
        `none sent after the flow was forgotten arrived: ${describeResult(r)}`,
      );
    });

    it('mqtt keepalive 3 s through a 2 s timeout: PINGREQ dropped, offline inside (3.5 s, 6.5 s]', async () => {
      const r = await measure(
        specOf({
          target: 'mqtt',
          strategy: 'mqtt:keepalive=3s',
          workload: 'idle',
          fault: 'idle-timeout',
          ...after('drop'),
          deadlineMs: 12_000,
        }),
      );
      assert.equal(r.verdict, 'inside', describeResult(r));
      assert.deepEqual(r.predicted_ms, [3500, 6500]);
      assert.ok(r.reconnect_ms !== null, describeResult(r));
    });

    it('nats pings every second keep the flow alive through a 2 s timeout', async () => {
      const r = await measure(
        specOf({
          target: 'nats',
          strategy: 'nats:ping=1s,maxout=2',
          workload: 'publish:2',
          fault: 'idle-timeout',
          ...after('drop'),
          deadlineMs: 5000,
        }),
      );
      assert.equal(r.verdict, 'not detected (as predicted)', describeResult(r));
      assert.equal(r.lost, 0, describeResult(r));
    });

    it('grpc keepalive every 3 s with RST on expiry: the next ping is reset, inside (2 s, 5 s]', async () => {
      const r = await measure(
        specOf({
          target: 'grpc',
          strategy: 'grpc:time=3s,timeout=1s,without-calls=true',
          workload: 'idle',
          fault: 'idle-timeout',
          ...after('reset'),
          deadlineMs: 10_000,
        }),
      );
      assert.equal(r.verdict, 'inside', describeResult(r));
      assert.deepEqual(r.predicted_ms, [2000, 5000]);
    });
  },
);

describe('idle-timeout on the proxy testbed (no root)', { concurrency: 3 }, () => {
  const proxied = { testbed: 'proxy' as const };
  it('a heartbeat rarer than the timeout: its ping is dropped, detected inside (2.5 s, 5.5 s]', async () => {
    const r = await measure(
      specOf({
        strategy: 'heartbeat:interval=3s,timeout=1s',
        workload: 'idle',
        fault: 'idle-timeout',
        ...proxied,
        idleTimeout: { ms: 1500, onExpiry: 'drop' },
        deadlineMs: 8000,
      }),
    );
    assert.equal(r.verdict, 'inside', describeResult(r));
    assert.deepEqual(r.predicted_ms, [2500, 5500]);
    assert.equal(r.detect_reason, 'heartbeat-timeout');
  });

  it("keepalive never notices: the proxy's kernel answers its probes", async () => {
    const r = await measure(
      specOf({
        strategy: KEEPALIVE,
        workload: 'idle',
        fault: 'idle-timeout',
        ...proxied,
        ...after('drop'),
        deadlineMs: 8000,
      }),
    );
    assert.equal(r.verdict, 'not detected (as predicted)', describeResult(r));
  });

  it('a quiet publisher with RST on expiry: its next message draws the RST', async () => {
    const r = await measure(
      specOf({
        strategy: 'none',
        workload: 'publish:0.5',
        fault: 'idle-timeout',
        ...proxied,
        idleTimeout: { ms: 1000, onExpiry: 'reset' },
        deadlineMs: 8000,
      }),
    );
    assert.equal(r.verdict, 'inside', describeResult(r));
    assert.equal(r.detect_reason, 'ECONNRESET');
  });
});
