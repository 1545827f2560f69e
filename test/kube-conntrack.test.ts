/**
 * conntrack-lost on the kube testbed: the client's node forgets the flow's conntrack entry. What
 * crossed the wire is read from the result: `pickup-<pod>:0` counts the client's packet that
 * started a new entry toward that pod (tcp_loose), `pickup-<pod>:1` a pod's packet that started
 * one toward the client, `kube-invalid:0` what kube-proxy's filter dropped as INVALID (loose=0),
 * `wire:0` RST to the client and `wire:2` RST from it.
 *
 * Under loose with several replicas the Service's random rules decide whether the client's next
 * packet meets another replica (RST) or the same pod (the flow goes on): those tests read which it
 * was from the pickup counters and the `k8s conntrack` event and assert each outcome's story. One
 * replica (the same pod, always) and a pod that sends first (the client's RST resets its socket)
 * pin the outcome.
 *
 * Timing tolerances: verdicts are judged against the predicted window with the lab's allowance;
 * "not detected" runs use short deadlines (3-5 s), enough for 15-25 messages or 3 heartbeats.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ExperimentResult } from '../src/runner/experiment.js';
import { crossing, kubeSpecOf, measure, netnsSkip } from './helpers.js';
import { eventAt, receivedAfterT0, why } from './kube-results.js';

/** The pods whose pickup counter `:i` counted (0: the client's packet, 1: a pod's). */
const pickedUp = (r: ExperimentResult, i: 0 | 1): string[] =>
  Object.entries(r.wire)
    .filter(([k, v]) => v > 0 && k.startsWith('pickup-') && k.endsWith(`:${i}`))
    .map(([k]) => k.slice('pickup-'.length, -2));

/** The flow went on on its pod: nothing detected, nothing lost, still delivering at the stop. */
function flowWentOn(r: ExperimentResult): void {
  const w = why(r);
  assert.equal(r.detect_ms, null, w);
  assert.equal(r.lost, 0, w);
  assert.ok(receivedAfterT0(r) >= 5, `delivered after T0: ${w}`);
  assert.equal(r.kube!.pod_at_stop, r.kube!.pod_at_fault, w);
  assert.equal(r.wire['wire:0'] ?? 0, 0, `no RST to the client: ${w}`);
}

describe(
  'kube: conntrack-lost, loose (kube-proxy default)',
  { skip: netnsSkip, concurrency: 2 },
  () => {
    it('tcp, one replica: the next message is picked up by the same pod and the flow goes on', async () => {
      const r = await measure(
        kubeSpecOf({
          fault: 'conntrack-lost',
          strategy: 'none',
          workload: 'publish:5',
          deadlineMs: 3000,
          kubeSettings: { replicas: 1 },
        }),
      );
      assert.equal(r.predicted_ms, null);
      assert.equal(r.verdict, 'not detected (as predicted)', why(r));
      assert.deepEqual(pickedUp(r, 0), ['tcp-0'], why(r));
      assert.deepEqual(pickedUp(r, 1), [], why(r));
      flowWentOn(r);
      // The next message goes within 200 ms; the event is read within a 100 ms poll of it.
      assert.ok(eventAt(r, /conntrack tcp-0: .*the same pod, so the flow goes on/) < 1000, why(r));
    });

    it('tcp, 3 replicas: another replica answers RST (2/3), or the same pod carries on (1/3)', async () => {
      const r = await measure(
        kubeSpecOf({ fault: 'conntrack-lost', strategy: 'none', workload: 'publish:5' }),
      );
      const w = why(r);
      assert.deepEqual(r.predicted_ms, [0, 200]);
      assert.match(r.predicted_why, /probability 2\/3/);
      // The client's next packet started exactly one new entry, toward one pod.
      const to = pickedUp(r, 0);
      assert.equal(to.length, 1, w);
      const victim = r.kube!.pod_at_fault!;
      if (to[0] === victim) {
        assert.equal(r.verdict, 'not detected', w);
        flowWentOn(r);
      } else {
        assert.equal(r.verdict, 'inside', w);
        assert.equal(r.detect_reason, 'ECONNRESET', w);
        assert.ok((r.wire['wire:0'] ?? 0) >= 1, `RST to the client: ${w}`);
        eventAt(r, new RegExp(`conntrack ${to[0]}: .*another replica.*\\(RST\\)`));
        // A new connection makes a new entry at once.
        assert.notEqual(r.reconnect_ms, null, w);
      }
    });

    it('tcp heartbeat, one replica: pings and pongs go on through the picked-up entry', async () => {
      const r = await measure(
        kubeSpecOf({
          fault: 'conntrack-lost',
          strategy: 'heartbeat:interval=1s,timeout=2s',
          deadlineMs: 3500,
          kubeSettings: { replicas: 1 },
        }),
      );
      const w = why(r);
      assert.equal(r.verdict, 'not detected (as predicted)', w);
      assert.deepEqual(pickedUp(r, 0), ['tcp-0'], w);
      assert.equal(r.wire['wire:0'] ?? 0, 0, w);
      assert.equal(r.kube!.pod_at_stop, 'tcp-0', w);
    });

    it("nats subscriber, one replica: the pod's push arrives un-DNATed, the client's RST resets the pod, its next ping meets RST", async () => {
      const r = await measure(
        kubeSpecOf({
          target: 'nats',
          fault: 'conntrack-lost',
          strategy: 'nats:ping=2s,maxout=2',
          workload: 'subscribe:5',
          deadlineMs: 6000,
          kubeSettings: { replicas: 1 },
        }),
      );
      const w = why(r);
      assert.deepEqual(r.predicted_ms, [0, 2000]);
      assert.equal(r.verdict, 'inside', w);
      // The push (within 200 ms) came first: picked up from the pod's own address ...
      assert.deepEqual(pickedUp(r, 1), ['nats-0'], w);
      assert.ok(
        eventAt(r, /conntrack nats-0: a packet from nats-0 .* picked up as a new flow/) < 1000,
      );
      // ... the client's kernel, with no socket for that address, answered RST ...
      assert.ok((r.wire['wire:2'] ?? 0) >= 1, `RST from the client: ${w}`);
      // ... and the client's own ping, steered to the same pod, met RST there.
      assert.deepEqual(pickedUp(r, 0), ['nats-0'], w);
      assert.ok((r.wire['wire:0'] ?? 0) >= 1, `RST to the client: ${w}`);
      eventAt(
        r,
        /conntrack nats-0: the client's next packet .* the same pod, whose socket .* reset/,
      );
      assert.notEqual(r.reconnect_ms, null, w);
    });

    it("nats idle, 3 replicas: nats-server's first ping comes first, so RST at the client's ping whatever the pod", async () => {
      const r = await measure(
        kubeSpecOf({
          target: 'nats',
          fault: 'conntrack-lost',
          strategy: 'nats:ping=5s,maxout=2',
          deadlineMs: 7000,
        }),
      );
      const w = why(r);
      assert.deepEqual(r.predicted_ms, [0, 5000]);
      assert.equal(r.verdict, 'inside', w);
      assert.deepEqual(pickedUp(r, 1), [r.kube!.pod_at_fault], w);
      assert.equal(pickedUp(r, 0).length, 1, w);
      assert.ok((r.wire['wire:0'] ?? 0) >= 1, w);
    });
  },
);

describe('kube: conntrack-lost --pickup strict', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp heartbeat: the next packets are INVALID and dropped; the heartbeat times out', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'conntrack-lost',
        strategy: 'heartbeat:interval=1s,timeout=2s',
        workload: 'publish:5',
        params: { pickup: 'strict' },
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [2000, 3000]);
    assert.equal(r.verdict, 'inside', w);
    assert.equal(r.detect_reason, 'heartbeat-timeout', w);
    assert.ok((r.wire['kube-invalid:0'] ?? 0) >= 3, `INVALID dropped: ${w}`);
    assert.deepEqual([...pickedUp(r, 0), ...pickedUp(r, 1)], [], w);
    assert.equal(r.wire['wire:0'] ?? 0, 0, `no RST: ${w}`);
    assert.ok(r.lost > 0, w);
    // A new connection's SYN makes a new entry at once.
    assert.notEqual(r.reconnect_ms, null, w);
  });

  it('tcp publish without probes: silent, retransmissions dropped as INVALID', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'conntrack-lost',
        strategy: 'none',
        workload: 'publish:5',
        deadlineMs: 3000,
        params: { pickup: 'strict' },
      }),
    );
    const w = why(r);
    assert.equal(r.verdict, 'beyond deadline', w);
    assert.equal(r.detect_ms, null, w);
    assert.ok((r.wire['kube-invalid:0'] ?? 0) >= 3, w);
    // Nothing after the fault was in force: only what crossed while it was being applied.
    assert.ok(receivedAfterT0(r) <= crossing(r, 5), w);
  });

  it('nats: its pings are dropped too; maxPingOut decides', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'conntrack-lost',
        strategy: 'nats:ping=1s,maxout=2',
        workload: 'publish:5',
        params: { pickup: 'strict' },
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [2000, 3000]);
    assert.equal(r.verdict, 'inside', w);
    assert.ok((r.wire['kube-invalid:0'] ?? 0) >= 3, w);
    assert.notEqual(r.reconnect_ms, null, w);
  });
});
