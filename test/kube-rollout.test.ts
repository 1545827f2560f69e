/**
 * rollout on the kube testbed: a StatefulSet's rolling restart, highest ordinal first, one pod at
 * a time: each deleted (SIGTERM), then made again on its node with a new address and Ready before
 * the next. The client is disconnected when its pod's turn comes, comes back through the Service,
 * and may be disconnected again if it lands on a pod whose turn is still to come. Each test reads
 * the order of the Kubernetes events, the client's detections and reconnections on the timeline,
 * and where its connection is at the stop (a replacement, at its new address).
 *
 * Timing: Kubernetes delays at 1/20 of real (endpoint lag 50 ms, grace 1.5 s). A turn takes the
 * lab 0.3-1.5 s (a pod's namespace, the target and a broker's sink started); the window allows
 * 3 s each. "At once" after a SIGTERM is the lab's immediate window (250 ms) plus its allowance.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ExperimentResult } from '../src/runner/experiment.js';
import { msBetween } from '../src/util/clock.js';
import {
  assertBadInput,
  describeResult,
  kubeSpecOf,
  measure,
  netnsSkip,
  specOf,
} from './helpers.js';
import { eventAt, kubeEvents } from './kube-results.js';

/** The client's detections and (re)connections after T0, in ms from T0. */
function clientStory(r: ExperimentResult): { detected: number[]; connected: number[] } {
  const t0 = r.timeline.find((e) => e.src === 'lab' && e.type === 'fault')!.t;
  const after = (type: string): number[] =>
    r.timeline
      .filter((e) => e.src === 'client' && e.type === type && e.t > t0)
      .map((e) => msBetween(t0, e.t));
  return { detected: after('detected'), connected: after('connected') };
}

/** The pod address an event names: its last address (`... with <ip>`, `... is on pod (<ip>:port)`). */
const ipIn = (r: ExperimentResult, re: RegExp): string => {
  const e = r.kube!.events.find((x) => re.test(`${x.object} ${x.name}: ${x.change}`));
  assert.ok(e, `no event ${re} in ${kubeEvents(r).join(' | ')}`);
  const ips = [...e.change.matchAll(/\d+\.\d+\.\d+\.\d+/g)].map((m) => m[0]);
  assert.ok(ips.length > 0, e.change);
  return ips[ips.length - 1]!;
};

/**
 * What every rollout of `n` replicas of `service` must show: each pod in turn, highest ordinal
 * first, deleted only once the one before is Ready again (never two down at once), remade on its
 * own node with a new address; the client detected within the immediate window of its pod's
 * SIGTERM; it ends connected to a replacement, at the replacement's address.
 */
function assertRollout(r: ExperimentResult, service: string, n: number): string {
  const story = clientStory(r);
  const why = `${describeResult(r)}; detections at ${story.detected.map(Math.round).join(', ')}; connections at ${story.connected.map(Math.round).join(', ')}; ${kubeEvents(r).join(' | ')}`;
  let readyBefore = 0;
  for (let turn = 1; turn <= n; turn++) {
    const pod = `${service}-${n - turn}`;
    const deleted = eventAt(
      r,
      new RegExp(`pod ${pod}: deleted by the rollout \\(rollout ${turn}/${n}`),
    );
    assert.ok(deleted >= readyBefore, `${pod} deleted after the previous turn was Ready: ${why}`);
    assert.ok(eventAt(r, new RegExp(`pod ${pod}: SIGTERM`)) >= deleted, why);
    readyBefore = eventAt(r, new RegExp(`pod ${pod}: Ready on node${n - turn + 1} with `));
    assert.ok(eventAt(r, new RegExp(`endpoint ${pod}: ready$`)) >= readyBefore, why);
  }
  const victim = r.kube!.pod_at_fault!;
  assert.match(victim, new RegExp(`^${service}-\\d$`));
  const oldIp = ipIn(r, new RegExp(`conntrack ${victim}: .* is on `));
  const newIp = ipIn(r, new RegExp(`pod ${victim}: Ready on `));
  assert.notEqual(newIp, oldIp, `a new address for ${victim}: ${why}`);
  // Detected at its own pod's SIGTERM (FIN), not before.
  const term = eventAt(r, new RegExp(`pod ${victim}: SIGTERM`));
  assert.notEqual(r.detect_ms, null, why);
  assert.ok(r.detect_ms! >= term && r.detect_ms! <= term + 250 + 25, why);
  assert.equal(r.verdict, 'inside', why);
  // Every detection was followed by a connection; at the stop it is on a replacement pod.
  assert.ok(story.detected.length >= 1, why);
  assert.ok(story.connected.length >= story.detected.length, why);
  const end = r.kube!.pod_at_stop;
  assert.ok(end, why);
  assert.equal(
    ipIn(r, /conntrack .*: at the stop/),
    ipIn(r, new RegExp(`pod ${end}: Ready on `)),
    why,
  );
  assert.ok((r.wire[`dnat-${end}.1:0`] ?? 0) >= 1, why);
  return why;
}

describe('kube: rollout', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp (3 replicas): disconnected when its pod is restarted, back on a replacement', async () => {
    const r = await measure(
      kubeSpecOf({ fault: 'rollout', strategy: 'none', workload: 'publish:5', deadlineMs: 15_000 }),
    );
    // Two turns before the last one, 3.25 s each at most: 0 ms preStop, 250 ms exit, 3 s start.
    assert.deepEqual(r.predicted_ms, [0, 2 * (250 + 3000) + 250]);
    const why = assertRollout(r, 'tcp', 3);
    assert.ok((r.wire['wire:1'] ?? 0) >= 1, `a FIN crossed the client's node: ${why}`);
    assert.notEqual(r.reconnect_ms, null, why);
  });

  it('nats (3 replicas, reconnect wait 100 ms): the same, through nats.js reconnecting', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'rollout',
        // nats.js waits 2 s between attempts by default: a reconnect that met a dying pod (still
        // in kube-proxy's rules for the endpoint lag) may still be waiting at the stop.
        strategy: 'nats:ping=5s,maxout=2,wait=100ms',
        workload: 'publish:5',
        deadlineMs: 15_000,
      }),
    );
    const why = assertRollout(r, 'nats', 3);
    assert.notEqual(r.reconnect_ms, null, why);
  });

  it('tcp, one replica: the client waits for the new pod (REJECT while the Service is empty)', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'rollout',
        strategy: 'none',
        workload: 'publish:5',
        deadlineMs: 10_000,
        kubeSettings: { replicas: 1 },
      }),
    );
    assert.deepEqual(r.predicted_ms, [0, 250]);
    const why = assertRollout(r, 'tcp', 1);
    // It cannot be back before kube-proxy steers to the new pod.
    const ready = eventAt(r, /endpoint tcp-0: ready$/);
    assert.notEqual(r.reconnect_ms, null, why);
    assert.ok(r.detect_ms! + r.reconnect_ms! >= ready, why);
  });
});

describe('rollout: bad input', () => {
  it('is a kube fault', async () => {
    await assertBadInput(
      () => specOf({ fault: 'rollout' }),
      /fault rollout is not available on the netns testbed.*needs --testbed kube/,
    );
    // One replica is a rollout too (the Service is empty while its pod is remade).
    assert.equal(kubeSpecOf({ fault: 'rollout', kubeSettings: { replicas: 1 } }).kube!.replicas, 1);
  });
});
