/**
 * The kube testbed end to end: a client pod, replica pods behind a ClusterIP Service (kube-proxy's
 * iptables rules on the client's node), Kubernetes' delays at 1/20 of real (test/helpers.ts
 * kubeSpecOf). Each test reads what crossed the wire from the result: the rules' packet counters
 * (`dnat-<pod>:0` new connections each endpoint was given, `wire:0..3` RST and FIN to and from
 * the client) and the Kubernetes events (the conntrack entry's DNAT target at T0 and at the stop).
 *
 * Timing tolerances: a verdict is judged against the window it pins; "at once" is the lab's
 * immediate window (250 ms) plus its allowance.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { describeResult, kubeSpecOf, measure, netnsSkip } from './helpers.js';
import { eventAt, kubeEvents } from './kube-results.js';

describe('kube: pod-force-delete', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp: the node still sends SIGTERM at once; FIN reaches the client, which comes back on another replica', async () => {
    const r = await measure(
      kubeSpecOf({ fault: 'pod-force-delete', strategy: 'none', workload: 'publish:5' }),
    );
    const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
    assert.deepEqual(r.predicted_ms, [0, 250]);
    assert.equal(r.verdict, 'inside', why);
    assert.ok((r.wire['wire:1'] ?? 0) >= 1, `a FIN crossed the client's node: ${why}`);
    const victim = r.kube!.pod_at_fault!;
    assert.match(victim, /^tcp-[0-2]$/);
    // The kubelet signals at T0; the endpoint leaves the rules one endpoint lag (50 ms) later.
    assert.ok(eventAt(r, new RegExp(`pod ${victim}: SIGTERM`)) < 250, why);
    assert.ok(eventAt(r, new RegExp(`endpoint ${victim}: removed from the Service`)) >= 50, why);
    // The built-in server exits on SIGTERM: no SIGKILL was needed after the 100 ms minimum.
    assert.ok(!kubeEvents(r).some((l) => l.includes(`${victim}: SIGKILL`)), why);
    assert.notEqual(r.reconnect_ms, null, why);
    // Back on another replica, or on the pod's replacement (the same name, a new address).
    assert.ok(r.kube!.ip_at_stop && r.kube!.ip_at_stop !== r.kube!.ip_at_fault, why);
    assert.equal(r.lost, 0, why);
  });

  it('nats (3 replicas, JetStream in memory, no advertise): detected at once, back through the Service', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'pod-force-delete',
        strategy: 'nats:ping=5s,maxout=2',
        workload: 'publish:5',
      }),
    );
    const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
    assert.equal(r.kube!.replicas, 3);
    assert.equal(r.verdict, 'inside', why);
    assert.match(r.kube!.pod_at_fault!, /^nats-[0-2]$/);
    assert.ok(r.kube!.ip_at_stop && r.kube!.ip_at_stop !== r.kube!.ip_at_fault, why);
    assert.notEqual(r.reconnect_ms, null, why);
  });
});

describe('kube: pod-delete', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp with a preStop sleep: served through preStop, FIN at SIGTERM; the StatefulSet brings the pod back', async () => {
    // preStop 10 s real = 500 ms here: the window is [500 ms, 750 ms].
    const r = await measure(
      kubeSpecOf({
        fault: 'pod-delete',
        strategy: 'none',
        workload: 'publish:5',
        kubeSettings: { delays: { prestop: 10_000 } },
      }),
    );
    const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
    assert.deepEqual(r.predicted_ms, [500, 750]);
    assert.equal(r.verdict, 'inside', why);
    const victim = r.kube!.pod_at_fault!;
    assert.ok(eventAt(r, new RegExp(`endpoint ${victim}: terminating`)) < 500, why);
    assert.ok(eventAt(r, new RegExp(`pod ${victim}: SIGTERM`)) >= 500, why);
    // The StatefulSet's replacement is made once the old pod is gone (it may still be starting
    // when the experiment stops).
    assert.ok(eventAt(r, new RegExp(`pod ${victim}: scheduled on node`)) > 500, why);
    assert.ok((r.wire['wire:1'] ?? 0) >= 1, `FIN: ${why}`);
    assert.equal(r.lost, 0, why);
  });

  it('nats: detected at SIGTERM, back on a replica', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'pod-delete',
        strategy: 'nats:ping=5s,maxout=2',
        workload: 'publish:5',
      }),
    );
    const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
    assert.deepEqual(r.predicted_ms, [0, 250]);
    assert.equal(r.verdict, 'inside', why);
    assert.notEqual(r.reconnect_ms, null, why);
  });
});

describe('kube: node-loss', { skip: netnsSkip, concurrency: 2 }, () => {
  it('tcp heartbeat: silence; the endpoint leaves the rules only after NotReady', async () => {
    const r = await measure(
      kubeSpecOf({
        fault: 'node-loss',
        strategy: 'heartbeat:interval=1s,timeout=2s',
        workload: 'publish:5',
      }),
    );
    const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
    assert.deepEqual(r.predicted_ms, [2000, 3000]);
    assert.equal(r.verdict, 'inside', why);
    const victim = r.kube!.pod_at_fault!;
    // Silent: no RST reached the client's node (the counters cover the whole run).
    assert.equal(r.wire['wire:0'] ?? 0, 0, why);
    const dropped = Object.entries(r.wire)
      .filter(([k]) => k.startsWith('node-loss-'))
      .reduce((n, [, v]) => n + v, 0);
    assert.ok(dropped > 0, `the fabric dropped packets: ${why}`);
    // NotReady after node-monitor-grace-period (50 s real = 2.5 s here); only then does the
    // endpoint leave the rules. The client came back on another replica.
    assert.ok(eventAt(r, /node node\d: NotReady/) >= 2500, why);
    // ... and kube-proxy learns it an endpoint lag (50 ms) later.
    assert.ok(eventAt(r, new RegExp(`endpoint ${victim}: not-ready`)) >= 2550, why);
    assert.ok(r.kube!.pod_at_stop && r.kube!.pod_at_stop !== victim, why);
  });

  it('mqtt (one broker, its sink lost with it): detected by keepalive; what was sent meanwhile is lost', async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'mqtt',
        fault: 'node-loss',
        strategy: 'mqtt:keepalive=2s',
        workload: 'publish:5',
      }),
    );
    const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
    assert.equal(r.kube!.replicas, 1);
    assert.deepEqual(r.predicted_ms, [1000, 3000]);
    assert.equal(r.verdict, 'inside', why);
    assert.ok(r.lost > 0, why);
  });

  it("nats, the seed's pings (5 s, 2 out): detected in (10 s, 15 s]; what was published meanwhile is lost", async () => {
    const r = await measure(
      kubeSpecOf({
        target: 'nats',
        fault: 'node-loss',
        strategy: 'nats:ping=5s,maxout=2',
        workload: 'publish:5',
        deadlineMs: 20_000,
      }),
    );
    const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
    assert.deepEqual(r.predicted_ms, [10_000, 15_000]);
    assert.equal(r.verdict, 'inside', why);
    assert.ok(r.lost > 0 && r.lost <= (r.stale_sent ?? 0) + 1, why);
  });
});

describe(
  'kube: the NATS cluster tells clients its replicas only when it advertises',
  { skip: netnsSkip, concurrency: 2 },
  () => {
    // Your own client (bash) reads the server's INFO through the Service: with advertising, its
    // connect_urls name every replica's pod address; with cluster.noAdvertise (the seed's Helm
    // values, the default here) none.
    const readInfo =
      'exec bash -c "exec 3<>/dev/tcp/$HALFOPEN_HOST/$HALFOPEN_PORT; printf \\"CONNECT {}\\r\\nPING\\r\\n\\" >&3; timeout 2 cat <&3; sleep 10"';
    for (const advertise of [true, false])
      it(`advertise ${advertise ? 'yes' : 'no'}`, async () => {
        const r = await measure(
          kubeSpecOf({
            target: 'nats',
            fault: 'pod-delete',
            clientCmd: readInfo,
            deadlineMs: 2000,
            kubeSettings: { advertise },
          }),
        );
        const logs = r.timeline
          .filter((e) => e.src === 'client' && e.type === 'log')
          .map((e) => (e.type === 'log' ? e.line : ''))
          .join('\n');
        assert.match(logs, /^INFO /m, logs.slice(0, 500));
        const urls = /"connect_urls":\[([^\]]*)\]/.exec(logs)?.[1] ?? '';
        const pods = r.kube!.events.filter((e) => e.object === 'conntrack').length;
        assert.ok(pods >= 1);
        assert.equal(
          urls.split(',').filter((u) => /:4222"$/.test(u)).length,
          advertise ? 3 : 0,
          logs,
        );
      });
  },
);

describe(
  'kube: every built-in target and your own client behind the Service',
  { skip: netnsSkip, concurrency: 2 },
  () => {
    for (const [target, strategy] of [
      ['ws', 'ws:ping=1s,timeout=1s,side=client'],
      ['grpc', 'grpc:time=1s,timeout=1s'],
      ['h2', 'h2:ping=1s,timeout=1s'],
    ] as const)
      it(`${target}: a force-deleted pod's FIN, then back on another pod`, async () => {
        const r = await measure(
          kubeSpecOf({ target, strategy, fault: 'pod-force-delete', workload: 'publish:5' }),
        );
        const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
        assert.equal(r.kube!.replicas, 3);
        assert.equal(r.verdict, 'inside', why);
        assert.notEqual(r.reconnect_ms, null, why);
        assert.ok(r.kube!.ip_at_stop && r.kube!.ip_at_stop !== r.kube!.ip_at_fault, why);
      });

    it('your own client (bash): its connection to the ClusterIP, read from the kernel, ends at the FIN', async () => {
      const r = await measure(
        kubeSpecOf({
          fault: 'pod-force-delete',
          clientCmd:
            'exec bash -c "exec 3<>/dev/tcp/$HALFOPEN_HOST/$HALFOPEN_PORT; while echo MSG 1 >&3; do sleep 0.2; done"',
        }),
      );
      const why = `${describeResult(r)}; ${kubeEvents(r).join(' | ')}`;
      assert.match(r.flow!.server, /:7000$/);
      assert.notEqual(r.detect_ms, null, why);
      // "At once" with the allowance of a kernel watcher polling every 50-100 ms on a loaded machine.
      assert.ok(r.detect_ms! < 1000, why);
    });
  },
);
