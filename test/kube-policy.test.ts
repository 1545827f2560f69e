/**
 * network-policy on the kube testbed: a deny-all policy between the client's pod and the
 * Service's pods, as the CNI enforces it on the client's node. What crossed the wire is read from
 * the result: `network-policy:<2i>` counts what the policy dropped from the client toward pod i,
 * `network-policy:<2i+1>` toward the client; the `k8s policy` event says what a new connection
 * from the client's pod met after T0 (it waits 1 s for an answer).
 *
 * Timing tolerances: verdicts are judged against the predicted window with the lab's allowance;
 * the "goes on" runs use a 3.5 s deadline, enough for 15 messages and the 1 s trial connection.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ExperimentResult } from '../src/runner/experiment.js';
import { specFromFlags } from '../src/cli/run.js';
import {
  assertBadInput,
  assertOneLine,
  crossing,
  kubeSpecOf,
  measure,
  namespacesOf,
  netnsSkip,
  runCli,
  runFlags,
} from './helpers.js';
import { eventAt, receivedAfterT0, why } from './kube-results.js';

/** What the policy dropped: [toward the pods, toward the client]. */
function dropped(r: ExperimentResult): [number, number] {
  const out: [number, number] = [0, 0];
  for (const [k, v] of Object.entries(r.wire)) {
    const m = /^network-policy:(\d+)$/.exec(k);
    if (m) out[Number(m[1]) % 2 === 0 ? 0 : 1] += v;
  }
  return out;
}

const TRIAL_DROPPED = /policy deny-all: a new connection .*: no answer in 1s \(its SYN dropped\)/;

describe('kube: network-policy', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp, --policy new: the open flow keeps delivering; a new connection is dropped', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'network-policy',
        strategy: 'heartbeat:interval=1s,timeout=2s',
        workload: 'publish:5',
        deadlineMs: 3500,
      }),
    );
    const w = why(r);
    assert.equal(r.predicted_ms, null);
    assert.equal(r.verdict, 'not detected (as predicted)', w);
    assert.equal(r.lost, 0, w);
    assert.ok(receivedAfterT0(r) >= 10, `delivered after T0: ${w}`);
    assert.equal(r.kube!.pod_at_stop, r.kube!.pod_at_fault, w);
    // Only the trial connection's SYN met the policy (one, or two with its retransmission at 1 s).
    const [toPods, toClient] = dropped(r);
    assert.ok(toPods >= 1 && toPods <= 2, w);
    assert.equal(toClient, 0, w);
    assert.ok(eventAt(r, TRIAL_DROPPED) >= 1000, w);
  });

  it('tcp heartbeat, --policy every: the open flow goes silent; the heartbeat times out', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'network-policy',
        strategy: 'heartbeat:interval=1s,timeout=2s',
        workload: 'publish:5',
        params: { policy: 'every' },
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [2000, 3000]);
    assert.equal(r.verdict, 'inside', w);
    assert.equal(r.detect_reason, 'heartbeat-timeout', w);
    // Messages and pings (and the trial SYN) dropped toward the pods; nothing got through.
    assert.ok(dropped(r)[0] >= 5, w);
    // Nothing after the fault was in force: only what crossed while it was being applied.
    assert.ok(receivedAfterT0(r) <= crossing(r, 5), w);
    assert.equal(r.wire['wire:0'] ?? 0, 0, `no RST: ${w}`);
    eventAt(r, TRIAL_DROPPED);
    // The policy stays: the client cannot come back.
    assert.equal(r.reconnect_ms, null, w);
  });

  it('nats, --policy new: nothing detected, nothing lost', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'network-policy',
        strategy: 'nats:ping=1s,maxout=2',
        workload: 'publish:5',
        deadlineMs: 3500,
        params: { policy: 'new' },
      }),
    );
    const w = why(r);
    assert.equal(r.verdict, 'not detected (as predicted)', w);
    assert.equal(r.lost, 0, w);
    assert.ok(receivedAfterT0(r) >= 10, w);
    assert.equal(dropped(r)[1], 0, w);
  });

  it('nats, --policy every: maxPingOut decides', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'network-policy',
        strategy: 'nats:ping=1s,maxout=2',
        workload: 'publish:5',
        params: { policy: 'every' },
      }),
    );
    const w = why(r);
    assert.deepEqual(r.predicted_ms, [2000, 3000]);
    assert.equal(r.verdict, 'inside', w);
    assert.ok(dropped(r)[0] >= 3, w);
    assert.equal(r.reconnect_ms, null, w);
  });
});

describe('kube: bad input for conntrack-lost and network-policy', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { fault: 'pod-delete', pickup: 'strict' },
      /^--pickup applies to the conntrack-lost fault only/,
    ],
    [
      { fault: 'conntrack-lost', policy: 'every' },
      /^--policy applies to the network-policy fault only/,
    ],
    [
      { fault: 'conntrack-lost', pickup: 'maybe' },
      /--pickup 'maybe' is unknown \(expected one of: loose, strict\)/,
    ],
    [
      { fault: 'network-policy', policy: 'all' },
      /--policy 'all' is unknown \(expected one of: new, every\)/,
    ],
  ];
  for (const [flags, re] of cases)
    it(JSON.stringify(flags), async () => {
      await assertBadInput(() => specFromFlags(runFlags({ testbed: 'kube', ...flags })), re);
    });
  it('netns cannot make either fault', async () => {
    for (const fault of ['conntrack-lost', 'network-policy'])
      await assertBadInput(
        () => specFromFlags(runFlags({ fault })),
        new RegExp(`${fault} needs --testbed kube`),
      );
  });
  it('through the CLI: one line, exit 2, nothing created', { skip: netnsSkip }, async () => {
    const r = await runCli([
      'run',
      '--testbed',
      'kube',
      '--fault',
      'pod-delete',
      '--pickup',
      'strict',
    ]);
    assertOneLine(
      r,
      2,
      /--pickup applies to the conntrack-lost fault only \(fault is pod-delete\)/,
    );
    assert.deepEqual(await namespacesOf(r.pid), []);
  });
});
