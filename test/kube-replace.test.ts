/**
 * statefulset-replace on the kube testbed: the client's pod is lost with its node, turns NotReady,
 * is evicted, and once its node object is deleted comes back under its name on the spare node,
 * with a new IP or (--same-ip) the old one. Kubernetes' delays at 1/20 of real (test/helpers.ts
 * kubeSpecOf) and a 60 s eviction: NotReady 2.5 s after T0, the replacement about 5.6 s after T0.
 * Each test reads where the client was (the conntrack events at T0 and at the stop), the pod's
 * address before and after (the `scheduled on node<k> with <ip>` event) and what crossed the
 * client's node (`wire:0`: RST toward the client).
 *
 * Timing tolerances: verdicts are judged against the predicted window with the lab's tolerance;
 * the orderings below (RST after the replacement, reconnect after it) hold by seconds, not
 * milliseconds, so a loaded two-core machine does not flip them.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ExperimentResult } from '../src/runner/experiment.js';
import { assertBadInput, describeResult, kubeSpecOf, measure, netnsSkip } from './helpers.js';
import { specFromFlags } from '../src/cli/run.js';
import { runFlags } from './helpers.js';
import { SAME_IP } from '../src/faults/statefulset-replace.js';
import { eventAt, kubeEvents } from './kube-results.js';

/** A 60 s eviction (3 s at 1/20): the replacement comes 5.5 s after T0, not 17.5 s. */
const FAST = { delays: { eviction: 60_000 } };
const SAME_IP_ON = { same_ip: 'yes' };

const why = (r: ExperimentResult): string => `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;

/** The pod's address at T0 (the conntrack event's DNAT target) and its replacement's. */
function addresses(r: ExperimentResult): { pod: string; old: string; fresh: string; node: number } {
  const pod = r.kube!.pod_at_fault!;
  const lines = kubeEvents(r);
  const at = lines.find((l) => l.startsWith(`conntrack ${pod}:`))?.match(/\(([\d.]+):\d+\)$/);
  const moved = lines
    .find((l) => l.startsWith(`pod ${pod}: scheduled on`))
    ?.match(/node(\d+) with ([\d.]+)$/);
  assert.ok(at && moved, `no address or replacement for ${pod}: ${why(r)}`);
  return { pod, old: at[1]!, fresh: moved[2]!, node: Number(moved[1]) };
}

/** The address the client's connection is on at the stop. */
const stopIp = (r: ExperimentResult): string | undefined =>
  kubeEvents(r)
    .find((l) => l.includes('at the stop the client'))
    ?.match(/\(([\d.]+)\)$/)?.[1];

describe('kube: statefulset-replace', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp --same-ip: the replacement takes the old address; the next retransmission draws its RST', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'statefulset-replace',
        params: SAME_IP_ON,
        strategy: 'none',
        workload: 'publish:5',
        deadlineMs: 20_000,
        kubeSettings: FAST,
      }),
    );
    const w = why(r);
    // node_grace 2.5 s + eviction 3 s + 1.5 s to bring the pod up; 2 x 7 s + 200 ms.
    assert.deepEqual(r.predicted_ms, [5500, 14_200]);
    assert.equal(r.verdict, 'inside', w);
    assert.equal(r.detect_reason, 'ECONNRESET', w);
    const a = addresses(r);
    assert.equal(a.fresh, a.old, `same address: ${w}`);
    assert.equal(a.node, 4, `on the spare node (replicas 3 on nodes 1-3): ${w}`);
    // Nothing answered while the node was lost; the replacement's kernel did.
    const scheduled = eventAt(r, new RegExp(`pod ${a.pod}: scheduled on`));
    assert.ok(scheduled >= 5500, w);
    assert.ok(r.detect_ms! > scheduled, `the RST came from the replacement: ${w}`);
    assert.ok((r.wire['wire:0'] ?? 0) >= 1, `an RST crossed the client's node: ${w}`);
    const dropped = Object.entries(r.wire).filter(([k]) => k.startsWith('node-loss-'));
    assert.ok(
      dropped.some(([, v]) => v > 0),
      `the lost node's drop counted: ${w}`,
    );
    assert.ok(
      kubeEvents(r).some((l) => /node node\d: deleted/.test(l)),
      w,
    );
    assert.notEqual(r.reconnect_ms, null, w);
  });

  it('tcp headless: a heartbeat notices; the client resolves the name again and ends on the replacement at its new IP', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'statefulset-replace',
        strategy: 'heartbeat:interval=1s,timeout=2s',
        workload: 'publish:5',
        deadlineMs: 20_000,
        kubeSettings: { ...FAST, service: 'headless' },
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [2000, 3000]);
    assert.equal(r.verdict, 'inside', w);
    assert.equal(r.detect_reason, 'heartbeat-timeout', w);
    const a = addresses(r);
    assert.notEqual(a.fresh, a.old, `a new address: ${w}`);
    assert.equal(r.wire['wire:0'] ?? 0, 0, `nothing answered the old connection: ${w}`);
    // The name resolves to the old address until the replacement runs: back only after it.
    assert.notEqual(r.reconnect_ms, null, w);
    const running = eventAt(r, new RegExp(`pod ${a.pod}: running`));
    assert.ok(r.detect_ms! + r.reconnect_ms! > running, w);
    assert.equal(r.kube!.pod_at_stop, a.pod, `same name: ${w}`);
    assert.equal(stopIp(r), a.fresh, w);
  });

  it('nats (3 replicas, ClusterIP): pings notice; the client comes back through the Service, never on the old address', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'statefulset-replace',
        strategy: 'nats:ping=5s,maxout=2',
        workload: 'publish:1',
        deadlineMs: 25_000,
        kubeSettings: FAST,
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [10_000, 15_000]);
    assert.equal(r.verdict, 'inside', w);
    const a = addresses(r);
    assert.notEqual(a.fresh, a.old, w);
    assert.equal(r.wire['wire:0'] ?? 0, 0, w);
    assert.notEqual(r.reconnect_ms, null, w);
    assert.ok(stopIp(r) && stopIp(r) !== a.old, w);
  });

  it('nats --same-ip: the replacement answers the old connection with RST before the pings give up', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'statefulset-replace',
        params: SAME_IP_ON,
        strategy: 'nats:ping=5s,maxout=2',
        workload: 'publish:1',
        deadlineMs: 25_000,
        kubeSettings: FAST,
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [5500, 14_200]);
    assert.equal(r.verdict, 'inside', w);
    const a = addresses(r);
    assert.equal(a.fresh, a.old, w);
    // The RST needs the replacement, made once the lost node is deleted (the "scheduled" event is
    // stamped after its network is up, which may already have answered).
    assert.ok(r.detect_ms! > eventAt(r, /node node\d+: deleted/), w);
    assert.ok((r.wire['wire:0'] ?? 0) >= 1, w);
    assert.notEqual(r.reconnect_ms, null, w);
  });
});

describe('statefulset-replace: bad input', () => {
  it('--same-ip belongs to statefulset-replace; the fault needs the kube testbed', async () => {
    await assertBadInput(
      () => specFromFlags(runFlags({ testbed: 'kube', fault: 'pod-delete', sameIp: true })),
      /^--same-ip applies to the statefulset-replace fault only \(fault is pod-delete\)$/,
    );
    await assertBadInput(
      () => specFromFlags(runFlags({ fault: 'statefulset-replace' })),
      /fault statefulset-replace is not available on the netns testbed.*needs --testbed kube/,
    );
    await assertBadInput(
      () => SAME_IP.fill({ same_ip: 'maybe' }, (k) => k),
      /same_ip takes no value \(got 'maybe'\)/,
    );
    const ok = specFromFlags(
      runFlags({ testbed: 'kube', fault: 'statefulset-replace', sameIp: true }),
    );
    assert.equal(SAME_IP.read(ok), true);
  });
});
