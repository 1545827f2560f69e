/**
 * The k8s testbed without a cluster: each fault's requests to the API, one by one, against the
 * fake API server (test/k8s-fake-api.ts), through the same ClusterControl the testbed builds; the
 * pure functions that turn watch objects and log lines into the timeline; a pod's container as a
 * process (its log in, its control port out); what `k8s serve` runs in a pod; the verdict 'fault
 * not in force'; and the testbed's own deploy and teardown.
 *
 * Nothing here sleeps to synchronise: what runs in the background (a log stream, kubectl, a
 * control connection) is polled for with waitFor, whose timeouts bound a loaded machine only.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { predict } from '../src/advise/predict.js';
import { defaultKube } from '../src/core/kube.js';
import type { LabProcess } from '../src/core/process.js';
import type { ClientEvent, LabEvent, SinkEvent, TimelineEntry } from '../src/events.js';
import { LabError } from '../src/errors.js';
import { FAULT_DEFS } from '../src/faults/index.js';
import { POLICY_IN_FORCE_MS } from '../src/faults/network-policy.js';
import type { FaultName } from '../src/scenario/spec.js';
import type { ClusterControl, ClusterPod, K8sFaultContext } from '../src/faults/types.js';
import { buildResult, notInForce } from '../src/runner/result.js';
import type { ExperimentSpec } from '../src/scenario/spec.js';
import { kubeOf } from '../src/runner/spec-questions.js';
import { K8sApi } from '../src/testbeds/k8s/api.js';
import { clusterControl } from '../src/testbeds/k8s/control.js';
import { targetSelector } from '../src/testbeds/k8s/names.js';
import { podProcess, restamp, type LogSource } from '../src/testbeds/k8s/pod-process.js';
import { CONTROL_PORTS, experimentsJson, type ExperimentsDoc } from '../src/testbeds/k8s/plan.js';
import { serveArgv } from '../src/testbeds/k8s/serve.js';
import { K8sTestbed } from '../src/testbeds/k8s/testbed.js';
import {
  endpointChanges,
  endpointStates,
  endpointsIn,
  podChanges,
  type PodState,
} from '../src/testbeds/k8s/watch-events.js';
import { spawnLab } from '../src/testbeds/netns/exec.js';
import { now } from '../src/util/clock.js';
import { Teardowns } from '../src/util/teardown.js';
import { assertBadInput, kubeSpecOf, specOf, waitFor } from './helpers.js';
import {
  FakeApi,
  isDiscovery,
  openStream,
  sendJson,
  sendStatus,
  type Recorded,
  type Stream,
} from './k8s-fake-api.js';

const NS = '/api/v1/namespaces/lab';
const RUN_ID = '4242-abcd';
const STS = `ho-${RUN_ID}-0`;

/**
 * Two replicas on two nodes. The client's connection is on the second: a fault that hit the
 * first pod (any pod) instead of the flow's would send the wrong name and fail the assertions.
 */
const PODS: readonly ClusterPod[] = [
  { name: `${STS}-0`, uid: 'uid-0', ip: '10.244.1.10', node: 'node-a' },
  { name: `${STS}-1`, uid: 'uid-1', ip: '10.244.2.11', node: 'node-b' },
];
const FLOW_POD = PODS[1]!;
const FLOW = {
  client: { address: '10.244.0.5', port: 45678 },
  server: { address: '10.96.0.10', port: 4222 },
};

/** A k8s experiment on nats (two replicas), as the CLI would check it. */
function k8sSpec(fault: FaultName, params?: Record<string, string>): ExperimentSpec {
  return specOf({
    testbed: 'k8s',
    target: 'nats',
    fault,
    kube: defaultKube(2),
    // network-policy on k8s reads whether it is in force from messages crossing: a publisher.
    workload: 'publish:10',
    ...(params ? { params } : {}),
  });
}

/** A mark, with how many API requests (not discovery) the fake had received at that instant. */
interface Marked {
  event: LabEvent;
  callsBefore: number;
}

/** What a fault sees of the testbed, built as testbed.ts builds it, recording what it is told. */
class Harness {
  readonly teardowns = new Teardowns();
  readonly events: { object: string; name: string; change: string }[] = [];
  readonly marks: Marked[] = [];
  /** What the fault started in the driver's pod (kubectl). */
  readonly spawned: LabProcess[] = [];
  readonly cluster: ClusterControl;
  /** Called at each mark, for checks that need the instant itself (a hook's file). */
  onMark: ((event: LabEvent) => void) | null = null;

  constructor(
    readonly fake: FakeApi,
    readonly api: K8sApi,
  ) {
    this.cluster = clusterControl({
      api,
      run: { runId: RUN_ID, namespace: api.namespace },
      index: 0,
      statefulSet: STS,
      settings: defaultKube(2),
      teardowns: this.teardowns,
      pods: () => [...PODS],
      event: (object, name, change) => this.events.push({ object, name, change }),
      spawn: (argv) => {
        const proc = spawnLab(argv);
        this.spawned.push(proc);
        // As the testbed's own spawn: whatever the fault left running is stopped at teardown.
        this.teardowns.defer('stop a driver process', async () => {
          proc.kill('SIGKILL');
          await proc.exited;
        });
        return proc;
      },
    });
  }

  ctx(spec: ExperimentSpec, flowPod: ClusterPod | null = FLOW_POD): K8sFaultContext {
    return {
      spec,
      cluster: this.cluster,
      flow: FLOW,
      flowPod,
      // No k8s fault touches the target process: reading it is a bug the test should see.
      get target(): LabProcess {
        throw new Error('test: a k8s fault read ctx.target');
      },
      mark: (event) => {
        this.marks.push({ event, callsBefore: this.fake.calls().length });
        this.onMark?.(event);
      },
    };
  }

  /** The marks' phases with the request count at each. */
  phases(): [string, number][] {
    return this.marks.map((m) => [
      m.event.type === 'fault' ? m.event.phase : m.event.type,
      m.callsBefore,
    ]);
  }

  apply(spec: ExperimentSpec, flowPod?: ClusterPod | null): Promise<void> {
    return FAULT_DEFS[spec.fault].testbeds.k8s!.apply(this.ctx(spec, flowPod));
  }
}

const calls = (fake: FakeApi): string[] =>
  fake.calls().map((c) => `${c.method} ${c.path}${c.query.size ? `?${c.query.toString()}` : ''}`);

describe('k8s faults, request by request', () => {
  let fake: FakeApi;
  let h: Harness;
  beforeEach(async () => {
    fake = await FakeApi.start();
    h = new Harness(fake, K8sApi.connect({ kubeconfig: fake.kubeconfig() }));
  });
  afterEach(async () => {
    const failures = await h.teardowns.runAll();
    await fake.close();
    assert.deepEqual(failures, [], 'teardown');
  });

  const podAnswer = (name: string) => (_r: Recorded, res: Parameters<typeof sendJson>[0]) =>
    sendJson(res, 200, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'lab' } });

  it("pod-delete: one DELETE of the flow's pod with its own grace period, between T0 and applied", async () => {
    fake.on('DELETE', `${NS}/pods/${FLOW_POD.name}`, podAnswer(FLOW_POD.name));
    await h.apply(k8sSpec('pod-delete'));
    assert.deepEqual(calls(fake), [`DELETE ${NS}/pods/${FLOW_POD.name}`]);
    // No gracePeriodSeconds at all: the pod's own terminationGracePeriodSeconds applies.
    assert.equal(fake.calls()[0]!.query.has('gracePeriodSeconds'), false);
    assert.deepEqual(h.phases(), [
      ['start', 0],
      ['applied', 1],
    ]);
    assert.deepEqual(h.events, [
      { object: 'pod', name: FLOW_POD.name, change: 'DELETE sent (its own grace period)' },
    ]);
  });

  it('pod-force-delete: a DELETE with gracePeriodSeconds=0', async () => {
    fake.on('DELETE', `${NS}/pods/${FLOW_POD.name}`, podAnswer(FLOW_POD.name));
    await h.apply(k8sSpec('pod-force-delete'));
    assert.deepEqual(calls(fake), [`DELETE ${NS}/pods/${FLOW_POD.name}?gracePeriodSeconds=0`]);
    assert.deepEqual(h.phases(), [
      ['start', 0],
      ['applied', 1],
    ]);
    assert.equal(h.events[0]?.change, 'DELETE sent (gracePeriodSeconds=0: forced)');
  });

  it('node-drain: reads the node, cordons it, then evicts the pod; teardown uncordons', async () => {
    const node = (_r: Recorded, res: Parameters<typeof sendJson>[0]): void =>
      sendJson(res, 200, { apiVersion: 'v1', kind: 'Node', metadata: { name: FLOW_POD.node } });
    fake.on('GET', `/api/v1/nodes/${FLOW_POD.node}`, node);
    fake.on('PATCH', `/api/v1/nodes/${FLOW_POD.node}`, node);
    fake.on('POST', `${NS}/pods/${FLOW_POD.name}/eviction`, (_r, res) =>
      sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 }),
    );
    await h.apply(k8sSpec('node-drain'));
    assert.deepEqual(calls(fake), [
      `GET /api/v1/nodes/${FLOW_POD.node}`,
      `PATCH /api/v1/nodes/${FLOW_POD.node}`,
      `POST ${NS}/pods/${FLOW_POD.name}/eviction`,
    ]);
    const [, cordon, evict] = fake.calls();
    assert.equal(cordon!.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(cordon!.body, { spec: { unschedulable: true } });
    assert.deepEqual(evict!.body, {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: FLOW_POD.name, namespace: 'lab' },
    });
    assert.deepEqual(h.phases(), [
      ['start', 0],
      ['applied', 3],
    ]);
    assert.deepEqual(
      h.events.map((e) => [e.object, e.name]),
      [
        ['node', FLOW_POD.node],
        ['pod', FLOW_POD.name],
      ],
    );

    assert.deepEqual(await h.teardowns.runAll(), []);
    const uncordon = fake.calls()[3];
    assert.equal(`${uncordon?.method} ${uncordon?.path}`, `PATCH /api/v1/nodes/${FLOW_POD.node}`);
    assert.equal(uncordon!.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(uncordon!.body, { spec: { unschedulable: false } });
    assert.equal(fake.calls().length, 4);
  });

  it('node-drain: a node someone else cordoned is left cordoned', async () => {
    fake.on('GET', `/api/v1/nodes/${FLOW_POD.node}`, (_r, res) =>
      sendJson(res, 200, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: FLOW_POD.node },
        spec: { unschedulable: true },
      }),
    );
    fake.on('POST', `${NS}/pods/${FLOW_POD.name}/eviction`, (_r, res) =>
      sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 }),
    );
    await h.apply(k8sSpec('node-drain'));
    assert.deepEqual(await h.teardowns.runAll(), []);
    // No cordon, and no uncordon: only the read and the eviction.
    assert.deepEqual(calls(fake), [
      `GET /api/v1/nodes/${FLOW_POD.node}`,
      `POST ${NS}/pods/${FLOW_POD.name}/eviction`,
    ]);
  });

  it("network-policy: POSTs a deny-all NetworkPolicy on the target's pods", async () => {
    const path = '/apis/networking.k8s.io/v1/namespaces/lab/networkpolicies';
    fake.on('POST', path, (r, res) => sendJson(res, 201, r.body));
    await h.apply(k8sSpec('network-policy'));
    assert.deepEqual(calls(fake), [`POST ${path}`]);
    const body = fake.calls()[0]!.body as {
      apiVersion: string;
      kind: string;
      metadata: { name: string; namespace: string; labels: Record<string, string> };
      spec: unknown;
    };
    assert.equal(body.apiVersion, 'networking.k8s.io/v1');
    assert.equal(body.kind, 'NetworkPolicy');
    assert.equal(body.metadata.name, `${STS}-deny`);
    assert.equal(body.metadata.namespace, 'lab');
    // The experiment's labels: its teardown (deleteRun by label) removes the policy too.
    assert.equal(body.metadata.labels['halfopen.dev/run'], RUN_ID);
    assert.equal(body.metadata.labels['halfopen.dev/experiment'], '0');
    // Both directions listed and no rule given: nothing is allowed in or out.
    assert.deepEqual(body.spec, {
      podSelector: { matchLabels: targetSelector(RUN_ID, 0) },
      policyTypes: ['Ingress', 'Egress'],
    });
    assert.deepEqual(h.phases(), [
      ['start', 0],
      ['applied', 1],
    ]);
    assert.deepEqual(h.events, [
      { object: 'policy', name: `${STS}-deny`, change: 'deny-all NetworkPolicy created' },
    ]);
  });

  it("rollout: PATCHes the StatefulSet's template with a restartedAt annotation of now", async () => {
    const path = `/apis/apps/v1/namespaces/lab/statefulsets/${STS}`;
    fake.on('PATCH', path, (_r, res) =>
      sendJson(res, 200, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: STS } }),
    );
    const before = Date.now();
    await h.apply(k8sSpec('rollout'));
    const after = Date.now();
    assert.deepEqual(calls(fake), [`PATCH ${path}`]);
    const call = fake.calls()[0]!;
    assert.equal(call.contentType, 'application/strategic-merge-patch+json');
    const at = (
      call.body as {
        spec: { template: { metadata: { annotations: Record<string, string> } } };
      }
    ).spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'];
    assert.ok(at !== undefined, 'the restartedAt annotation');
    // The annotation is the time of the call: between the instants around it (ms resolution).
    const t = Date.parse(at);
    assert.ok(t >= before && t <= after, `restartedAt ${at} within the call`);
    assert.deepEqual(h.phases(), [
      ['start', 0],
      ['applied', 1],
    ]);
  });

  describe('node-loss', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'halfopen-hook-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("runs the hook with the flow pod's node, name, address and namespace, after T0", async () => {
      const out = join(dir, 'out');
      const hook = `echo "$HALFOPEN_NODE $HALFOPEN_POD $HALFOPEN_POD_IP $HALFOPEN_NAMESPACE" > '${out}'`;
      const seenAt: [string, boolean][] = [];
      h.onMark = (e) => {
        if (e.type === 'fault') seenAt.push([e.phase, existsSync(out)]);
      };
      await h.apply(k8sSpec('node-loss', { hook }));
      assert.equal(
        readFileSync(out, 'utf8'),
        `${FLOW_POD.node} ${FLOW_POD.name} ${FLOW_POD.ip} lab\n`,
      );
      // T0 before the hook had done anything; applied once it had.
      assert.deepEqual(seenAt, [
        ['start', false],
        ['applied', true],
      ]);
      assert.deepEqual(h.events, [
        { object: 'node', name: FLOW_POD.node, change: `hook ran: ${hook}` },
      ]);
      assert.deepEqual(fake.calls(), []);
    });

    it("fails with the hook's exit code and its last line of stderr", async () => {
      const hook = 'echo starting >&2; echo "no such VM" >&2; exit 3';
      await assert.rejects(
        h.apply(k8sSpec('node-loss', { hook })),
        (e: Error) =>
          e instanceof LabError && e.message === `the hook '${hook}' failed (exit 3): no such VM`,
      );
      assert.deepEqual(h.phases(), [['start', 0]]);
      assert.deepEqual(h.events, []);
    });

    it('is refused on k8s without --hook', async () => {
      await assertBadInput(() => k8sSpec('node-loss'), /^node-loss on a real cluster needs --hook/);
    });
  });

  it("a pod fault without the flow's pod fails naming the client's address, and sends nothing", async () => {
    const out = join(tmpdir(), `halfopen-hook-never-${process.pid}`);
    const specs = [
      k8sSpec('pod-delete'),
      k8sSpec('pod-force-delete'),
      k8sSpec('node-drain'),
      k8sSpec('node-loss', { hook: `touch '${out}'` }),
    ];
    for (const spec of specs)
      await assert.rejects(
        h.apply(spec, null),
        (e: Error) =>
          e instanceof LabError &&
          e.message.startsWith(
            "cannot tell which pod the client's connection 10.244.0.5:45678 reached",
          ) &&
          !e.message.includes('\n'),
        spec.fault,
      );
    assert.deepEqual(fake.calls(), []);
    assert.equal(existsSync(out), false, 'the hook did not run');
    assert.deepEqual(h.events, []);
  });

  describe('port-forward (a fake kubectl first on PATH)', () => {
    let bin: string;
    let savedPath: string | undefined;
    beforeEach(() => {
      bin = mkdtempSync(join(tmpdir(), 'halfopen-kubectl-'));
      // Records its argv, says what the real one says once it listens, and waits; on SIGTERM it
      // records the signal and exits, as kubectl does. One process, as kubectl is: a shell script
      // that waits on a child could fork that child after the signal, and leave it behind holding
      // the pipes (this file's process would then never exit).
      writeFileSync(
        join(bin, 'kubectl'),
        [
          `#!${process.execPath}`,
          "const { writeFileSync } = require('node:fs');",
          `const dir = ${JSON.stringify(bin)};`,
          "writeFileSync(dir + '/argv', process.argv.slice(2).join('\\n') + '\\n');",
          // Before the line that tells the lab it listens: a SIGTERM can only come after it.
          "process.on('SIGTERM', () => { writeFileSync(dir + '/signal', 'TERM\\n'); process.exit(0); });",
          "process.stdout.write('Forwarding from 127.0.0.1:43210 -> 4222\\nForwarding from [::1]:43210 -> 4222\\n');",
          'setInterval(() => undefined, 60_000);',
          '',
        ].join('\n'),
      );
      chmodSync(join(bin, 'kubectl'), 0o755);
      savedPath = process.env.PATH;
      process.env.PATH = `${bin}:${savedPath ?? ''}`;
    });
    afterEach(async () => {
      // kubectl may still run (pod-delete leaves it): teardown stops it before its dir goes.
      await h.teardowns.runAll();
      process.env.PATH = savedPath;
      rmSync(bin, { recursive: true, force: true });
    });

    it('prepare starts kubectl port-forward to the first pod and dials the port it names', async () => {
      const impl = FAULT_DEFS['port-forward'].testbeds.k8s!;
      const dial = await impl.prepare!(
        h.cluster,
        k8sSpec('port-forward', { forward_case: 'close' }),
      );
      assert.deepEqual(dial, { host: '127.0.0.1', port: 43210 });
      const argv = await waitFor(
        () => existsSync(join(bin, 'argv')) && readFileSync(join(bin, 'argv'), 'utf8'),
        5000,
        'kubectl recorded its argv',
      );
      assert.deepEqual(argv.trimEnd().split('\n'), [
        'port-forward',
        '--namespace',
        'lab',
        `pod/${PODS[0]!.name}`,
        ':4222',
      ]);
      assert.deepEqual(h.events, [
        {
          object: 'forward',
          name: `pod/${PODS[0]!.name}`,
          change: `kubectl forwards 127.0.0.1:43210 to ${PODS[0]!.name}:4222`,
        },
      ]);
      assert.deepEqual(fake.calls(), []);
    });

    it('close: SIGTERM to kubectl, which exits before applied; no API request', async () => {
      const spec = k8sSpec('port-forward', { forward_case: 'close' });
      const impl = FAULT_DEFS['port-forward'].testbeds.k8s!;
      await impl.prepare!(h.cluster, spec);
      const kubectl = h.spawned[0]!;
      const atApplied: boolean[] = [];
      h.onMark = (e) => {
        if (e.type === 'fault' && e.phase === 'applied') atApplied.push(kubectl.hasExited());
      };
      // No flow pod: the forward pins its own pod, and the fault must not need the flow's.
      await impl.apply(h.ctx(spec, null));
      assert.deepEqual(atApplied, [true], 'kubectl had exited at applied');
      assert.equal(await kubectl.exited, 0);
      assert.equal(readFileSync(join(bin, 'signal'), 'utf8'), 'TERM\n');
      assert.deepEqual(fake.calls(), []);
      assert.deepEqual(
        h.marks.map((m) => (m.event.type === 'fault' ? [m.event.name, m.event.phase] : [])),
        [
          ['port-forward', 'start'],
          ['port-forward', 'applied'],
        ],
      );
      assert.equal(h.events[1]?.change, 'the user stops kubectl (SIGTERM)');
    });

    it('pod-delete: DELETEs the forwarded pod (not the flow pod), kubectl left running', async () => {
      const spec = k8sSpec('port-forward', { forward_case: 'pod-delete' });
      const impl = FAULT_DEFS['port-forward'].testbeds.k8s!;
      fake.on('DELETE', `${NS}/pods/${PODS[0]!.name}`, podAnswer(PODS[0]!.name));
      await impl.prepare!(h.cluster, spec);
      await impl.apply(h.ctx(spec));
      assert.deepEqual(calls(fake), [`DELETE ${NS}/pods/${PODS[0]!.name}`]);
      assert.deepEqual(h.phases(), [
        ['start', 0],
        ['applied', 1],
      ]);
      assert.equal(h.spawned[0]!.hasExited(), false, 'kubectl is not stopped by a pod-delete');
      assert.equal(existsSync(join(bin, 'signal')), false);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('watch events: the cluster in the lab words', () => {
  const pod = (o: Partial<PodState> = {}): PodState => ({
    name: 'ho-1-ab-0-0',
    uid: '0123456789abcdef',
    ip: '10.244.1.7',
    node: 'node-a',
    ready: true,
    terminating: false,
    ...o,
  });

  it('podChanges: created, running, Ready, Terminating, not Ready, deleted, a replacement', () => {
    const pending = pod({ ip: '', node: '', ready: false });
    assert.deepEqual(podChanges(undefined, pending, false), ['created (uid 01234567)']);
    const scheduled = pod({ ready: false });
    assert.deepEqual(podChanges(pending, scheduled, false), ['running on node-a (10.244.1.7)']);
    assert.deepEqual(podChanges(scheduled, pod(), false), ['Ready']);
    // Seen for the first time already up (the list after a restart of the watch).
    assert.deepEqual(podChanges(undefined, pod(), false), [
      'created (uid 01234567)',
      'running on node-a (10.244.1.7)',
      'Ready',
    ]);
    assert.deepEqual(podChanges(pod(), pod(), false), []);
    assert.deepEqual(podChanges(pod(), pod({ terminating: true }), false, 30), [
      'Terminating (grace period 30 s)',
    ]);
    assert.deepEqual(podChanges(pod(), pod({ terminating: true, ready: false }), false), [
      'Terminating',
      'not Ready',
    ]);
    // Terminating once only: a later update of a terminating pod says nothing new.
    assert.deepEqual(
      podChanges(pod({ terminating: true }), pod({ terminating: true }), false, 30),
      [],
    );
    assert.deepEqual(podChanges(pod(), pod(), true), ['deleted (gone from the API)']);
    // A StatefulSet's replacement keeps the name: a new uid is a new pod, on a new node here.
    const replacement = pod({ uid: 'fedcba9876543210', node: 'node-b', ip: '10.244.2.9' });
    assert.deepEqual(podChanges(pod({ terminating: true }), replacement, false), [
      'created (uid fedcba98)',
      'running on node-b (10.244.2.9)',
      'Ready',
    ]);
  });

  it('endpointStates: a nil ready is ready, terminating wins, ready=false is not ready', () => {
    const states = endpointStates([
      {
        endpoints: [
          { addresses: ['10.244.1.7'], conditions: {}, targetRef: { name: 'p0' } },
          { addresses: ['10.244.1.8'], targetRef: { name: 'p1' } },
          {
            addresses: ['10.244.1.9'],
            conditions: { ready: false, serving: true, terminating: true },
            targetRef: { name: 'p2' },
          },
        ],
      },
      {
        endpoints: [
          { addresses: ['10.244.2.1'], conditions: { ready: false }, targetRef: { name: 'p3' } },
          // No pod named: known by its address.
          { addresses: ['10.244.2.2'], conditions: { ready: true } },
          // Neither: nothing to name it by.
          { conditions: { ready: true } },
        ],
      },
      {},
    ]);
    assert.deepEqual(
      [...states],
      [
        ['p0', 'ready'],
        ['p1', 'ready'],
        ['p2', 'terminating'],
        ['p3', 'not ready'],
        ['10.244.2.2', 'ready'],
      ],
    );
  });

  it('endpointChanges: what changed state, what appeared, what was removed', () => {
    const before = new Map([
      ['p0', 'ready'],
      ['p1', 'ready'],
      ['p2', 'ready'],
    ] as const);
    const after = new Map([
      ['p0', 'ready'],
      ['p1', 'terminating'],
      ['p3', 'not ready'],
    ] as const);
    assert.deepEqual(endpointChanges(before, after), [
      { name: 'p1', change: 'terminating in the EndpointSlice' },
      { name: 'p3', change: 'not ready in the EndpointSlice' },
      { name: 'p2', change: 'removed from the EndpointSlice' },
    ]);
    assert.deepEqual(endpointChanges(after, after), []);
  });

  it("endpointsIn: mosquitto's and nats-server's connection lines, the lab's accepted event", () => {
    assert.deepEqual(
      endpointsIn('1700000000: New client connected from 10.1.2.3:45678 as c0 (p2, c1, k60).'),
      ['10.1.2.3:45678'],
    );
    assert.deepEqual(
      endpointsIn(
        '[7] 2025/01/02 03:04:05.678901 [DBG] 10.1.2.3:45678 - cid:5 - Client connection created',
      ),
      ['10.1.2.3:45678'],
    );
    assert.deepEqual(
      endpointsIn(
        JSON.stringify({ t: '1', type: 'accepted', remote: { address: '10.1.2.3', port: 45678 } }),
      ),
      ['10.1.2.3:45678'],
    );
    // Another event, a broken JSON line and a line without an address name no client.
    assert.deepEqual(endpointsIn(JSON.stringify({ t: '1', type: 'recv', seq: 1 })), []);
    assert.deepEqual(endpointsIn('{"t":"1","type":"accepted"'), []);
    assert.deepEqual(endpointsIn('[7] 2025/01/02 03:04:05.678901 [INF] Server is ready'), []);
  });
});

// ---------------------------------------------------------------------------------------------

describe("a pod's container as a process", () => {
  it("restamp: a JSON event gets the driver's clock, anything else is null", () => {
    assert.equal(
      restamp('{"t":"123","type":"recv","seq":4}', 987654321n),
      '{"t":"987654321","type":"recv","seq":4}',
    );
    for (const line of [
      '1700000000: New client connected from 10.1.2.3:45678 as c0',
      '{"type":"recv","seq":4}',
      '{"t":"soon","type":"recv"}',
      '{"t":"123",',
      '',
    ])
      assert.equal(restamp(line, 1n), null, line);
  });

  /** A log the test writes to, as the API's followed log would arrive. */
  function logStub(): {
    source: LogSource;
    asked: [string, string][];
    line(text: string): void;
    end(): void;
  } {
    const asked: [string, string][] = [];
    let onLine: ((l: string) => void) | undefined;
    let end: (() => void) | undefined;
    return {
      asked,
      source: {
        streamLogs: (pod, container, cb, signal) => {
          asked.push([pod, container]);
          onLine = cb;
          return new Promise<void>((resolve) => {
            end = resolve;
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
        },
      },
      line: (text) => onLine!(text),
      end: () => end!(),
    };
  }

  const collect = (s: NodeJS.ReadableStream): string[] => {
    const lines: string[] = [];
    let partial = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    return lines;
  };

  it('events go to stdout restamped, other lines to stderr and its tail; exited when the log ends', async () => {
    const log = logStub();
    const ac = new AbortController();
    const seenByTestbed: string[] = [];
    const proc = podProcess(
      log.source,
      { name: `${STS}-0`, ip: '10.244.1.10' },
      'sink',
      ac.signal,
      (l) => seenByTestbed.push(l),
    );
    assert.deepEqual(log.asked, [[`${STS}-0`, 'sink']]);
    const out = collect(proc.stdout);
    const err = collect(proc.stderr);
    const before = now();
    log.line('{"t":"5","type":"recv","seq":1}');
    log.line('sink: connected to 127.0.0.1:4222');
    log.line('{"t":"6","type":"recv","seq":2}');
    const after = now();
    await waitFor(
      () => out.length === 2 && err.length === 1,
      5000,
      'the lines on stdout and stderr',
    );
    for (const [i, text] of out.entries()) {
      const e = JSON.parse(text) as { t: string; type: string; seq: number };
      assert.deepEqual([e.type, e.seq], ['recv', i + 1]);
      // Stamped on arrival by the driver's clock, between the instants around the writes.
      assert.ok(BigInt(e.t) >= before && BigInt(e.t) <= after, `t ${e.t} restamped`);
    }
    assert.deepEqual(err, ['sink: connected to 127.0.0.1:4222']);
    assert.equal(proc.stderrTail(), 'sink: connected to 127.0.0.1:4222\n');
    assert.equal(seenByTestbed.length, 3, 'the testbed sees every line, events too');
    assert.equal(proc.hasExited(), false);
    log.end();
    assert.equal(await proc.exited, 'log ended');
    assert.equal(proc.hasExited(), true);
    ac.abort();
  });

  it('reads the log through the API: the container is the role', async () => {
    const fake = await FakeApi.start();
    try {
      const api = K8sApi.connect({ kubeconfig: fake.kubeconfig() });
      let stream: Stream | undefined;
      fake.on('GET', `${NS}/pods/${STS}-1/log`, (_r, res) => {
        stream = openStream(res, 'text/plain');
      });
      const ac = new AbortController();
      const proc = podProcess(api, { name: `${STS}-1`, ip: '10.244.2.11' }, 'target', ac.signal);
      const out = collect(proc.stdout);
      const s = await waitFor(() => stream, 5000, 'the log request');
      s.write('{"t":"1","type":"listening","address":"0.0.0.0","port":4222}\n');
      await waitFor(() => out.length === 1, 5000, 'the event');
      s.end();
      assert.equal(await proc.exited, 'log ended');
      const call = fake.calls()[0]!;
      assert.equal(call.query.get('container'), 'target');
      assert.equal(call.query.get('follow'), 'true');
      assert.equal((JSON.parse(out[0]!) as { type: string }).type, 'listening');
    } finally {
      await fake.close();
    }
  });

  it("stdin lines and kill() reach the pod's control port", async (t) => {
    const got: string[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      let partial = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        got.push(...parts);
      });
    });
    // The port is fixed (the pod's wrapper listens there): if it is taken here, the test cannot run.
    const listening = await new Promise<true | string>((resolve) => {
      server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      server.listen(CONTROL_PORTS.target, '127.0.0.1', () => resolve(true));
    });
    if (listening !== true) {
      t.skip(`127.0.0.1:${CONTROL_PORTS.target} is not free here (${listening})`);
      return;
    }
    const log = logStub();
    const ac = new AbortController();
    try {
      const proc = podProcess(
        log.source,
        { name: `${STS}-0`, ip: '127.0.0.1' },
        'target',
        ac.signal,
      );
      proc.stdin.write('start\n');
      proc.kill('SIGTERM');
      await waitFor(
        () => got.length === 2,
        5000,
        () => `two control lines, got ${JSON.stringify(got)}`,
      );
      assert.deepEqual(got, ['start', 'signal SIGTERM']);
      assert.equal(sockets.size, 1, 'one control connection for both');
      log.end();
      await proc.exited;
    } finally {
      // The abort closes the control connection; the server's own, then the server.
      ac.abort();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('k8s serve: what a target pod runs', () => {
  let dir: string;
  let file: string;
  const made: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'halfopen-serve-test-'));
    file = join(dir, 'experiments.json');
    const doc: ExperimentsDoc = {
      version: 1,
      runId: RUN_ID,
      image: 'registry.example/halfopen:dev',
      experiments: [
        specOf({ testbed: 'k8s', target: 'nats', fault: 'pod-delete', kube: defaultKube(3) }),
        specOf({ testbed: 'k8s', target: 'tcp', fault: 'pod-delete', kube: defaultKube(1) }),
      ],
    };
    writeFileSync(file, experimentsJson(doc));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    // serveArgv writes the target's config into a directory of its own.
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a nats replica: debug logging, routes to its peers by stable name, not to itself', () => {
    const { role, argv } = serveArgv({
      role: 'target',
      experiments: file,
      index: '0',
      podName: `${STS}-1`,
    });
    assert.equal(role, 'target');
    assert.equal(argv[0], 'nats-server');
    assert.equal(argv[1], '-c');
    // -D: the debug log names each client's address, which is how the driver finds the flow's pod.
    assert.equal(argv.at(-1), '-D');
    const conf = argv[2]!;
    made.push(dirname(conf));
    const text = readFileSync(conf, 'utf8');
    assert.match(text, /listen: "0\.0\.0\.0:4222"/);
    assert.match(text, /server_name: "ho-4242-abcd-0-1"/);
    assert.ok(text.includes(`nats-route://${STS}-0.${STS}-pods:6222`), text);
    assert.ok(text.includes(`nats-route://${STS}-2.${STS}-pods:6222`), text);
    assert.ok(!text.includes(`${STS}-1.${STS}-pods`), `no route to itself: ${text}`);
  });

  it("a nats sink: node with the protocol's sink entry and client id c<index>", () => {
    const { role, argv } = serveArgv({ role: 'sink', experiments: file, index: '0' });
    assert.equal(role, 'sink');
    assert.equal(argv[0], process.execPath);
    assert.match(argv[1]!, /[/\\]protocols[/\\]nats[/\\]sink\.js$/);
    const config = JSON.parse(argv[2]!) as { clientId: string; port: number };
    assert.equal(config.clientId, 'c0');
    assert.equal(config.port, 4222);
  });

  it('refuses a sink for tcp, an unknown role, and an index out of range', async () => {
    await assertBadInput(
      () => serveArgv({ role: 'sink', experiments: file, index: '1' }),
      /^the tcp target has no sink$/,
    );
    await assertBadInput(
      () => serveArgv({ role: 'client', experiments: file, index: '0' }),
      /role 'client' is unknown/,
    );
    await assertBadInput(
      () => serveArgv({ role: 'target', experiments: file, index: '2' }),
      /^experiment index '2' is out of range \(the file has 2\)$/,
    );
    await assertBadInput(
      () => serveArgv({ role: 'target', experiments: file }),
      /^no experiment index/,
    );
    await assertBadInput(
      () => serveArgv({ role: 'target', experiments: join(dir, 'missing.json'), index: '0' }),
      /^cannot read the experiments file/,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("the verdict 'fault not in force'", () => {
  /** A made-up clock: T0 at 10 s; the policy accepted 40 ms after T0. */
  const T0 = 10_000;
  const APPLIED = 40;
  const at = (ms: number): bigint => BigInt(Math.round((T0 + ms) * 1e6));
  const lab = (ms: number, e: LabEvent): TimelineEntry => ({ t: at(ms), src: 'lab', ...e });
  const client = (ms: number, e: ClientEvent): TimelineEntry => ({
    t: at(ms),
    src: 'client',
    ...e,
  });
  const sink = (ms: number, e: SinkEvent): TimelineEntry => ({ t: at(ms), src: 'sink', ...e });

  /** A publishing client; the sink receives message 3 at `recvMs`; detection at `detectMs`. */
  function timeline(recvMs: number, detectMs?: number): TimelineEntry[] {
    const entries: TimelineEntry[] = [
      client(-2000, { type: 'connected', attempt: 1 }),
      client(-1000, { type: 'sent', seq: 1 }),
      sink(-990, { type: 'recv', seq: 1 }),
      lab(0, { type: 'fault', name: 'network-policy', phase: 'start' }),
      lab(APPLIED, { type: 'fault', name: 'network-policy', phase: 'applied' }),
      client(recvMs - 10, { type: 'sent', seq: 3 }),
      sink(recvMs, { type: 'recv', seq: 3 }),
    ];
    if (detectMs !== undefined)
      entries.push(client(detectMs, { type: 'detected', reason: 'ping-timeout' }));
    return entries.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  }
  const judge = (spec: ExperimentSpec, entries: TimelineEntry[], detectMs: number | null) =>
    notInForce(spec, entries, at(APPLIED), detectMs, at(0));

  const k8s = k8sSpec('network-policy');
  const inForceAt = APPLIED + POLICY_IN_FORCE_MS;

  it('a sink that receives after the policy should be in force, nothing detected: not in force', () => {
    assert.equal(judge(k8s, timeline(inForceAt + 1), null), true);
  });

  it('a receive before that instant says nothing', () => {
    assert.equal(judge(k8s, timeline(inForceAt - 1), null), false);
  });

  it('a receive after the client noticed says nothing (it may have reconnected)', () => {
    assert.equal(judge(k8s, timeline(inForceAt + 2000, inForceAt + 1000), inForceAt + 1000), false);
    // Before the detection, it does.
    assert.equal(judge(k8s, timeline(inForceAt + 500, inForceAt + 1000), inForceAt + 1000), true);
  });

  it('the kube testbed, whose policy the lab makes itself, is never judged so', () => {
    const kube = kubeSpecOf({ target: 'nats', fault: 'network-policy' });
    assert.equal(judge(kube, timeline(inForceAt + 1), null), false);
  });

  it('a fault that closes the connection itself has nothing to judge', () => {
    assert.equal(judge(k8sSpec('pod-delete'), timeline(inForceAt + 1), null), false);
  });

  it('buildResult gives the verdict', () => {
    const result = (spec: ExperimentSpec, entries: TimelineEntry[]) =>
      buildResult({
        spec,
        prediction: predict(spec),
        entries,
        counters: {},
        targetVersion: 'nats-server (test)',
        clientLibrary: 'nats.js (test)',
        flow: null,
      });
    assert.equal(result(k8s, timeline(inForceAt + 1)).verdict, 'fault not in force');
    assert.notEqual(result(k8s, timeline(inForceAt - 1)).verdict, 'fault not in force');
  });
});

// ---------------------------------------------------------------------------------------------

describe('K8sTestbed against the fake API', () => {
  it('creates the StatefulSet (deleting what a disrupted run left first) and two Services, watches, waits for the pods; teardown deletes each by name', async () => {
    const fake = await FakeApi.start();
    const teardowns = new Teardowns();
    try {
      const api = K8sApi.connect({ kubeconfig: fake.kubeconfig() });
      const spec = k8sSpec('pod-delete');
      const selector = `app.kubernetes.io/managed-by=halfopen,halfopen.dev/run=${RUN_ID},halfopen.dev/experiment=0`;
      const echo = (extra: object) => (r: Recorded, res: Parameters<typeof sendJson>[0]) =>
        sendJson(res, 201, { ...(r.body as object), ...extra });
      // The Job's second run of this index: the first driver's StatefulSet is still there once.
      fake.on(
        'POST',
        '/apis/apps/v1/namespaces/lab/statefulsets',
        (_r, res) =>
          sendStatus(res, 409, 'AlreadyExists', `statefulsets.apps "${STS}" already exists`),
        1,
      );
      fake.on('POST', '/apis/apps/v1/namespaces/lab/statefulsets', echo({}));
      fake.on('POST', `${NS}/services`, (r, res) => {
        const body = r.body as { spec: object };
        sendJson(res, 201, { ...body, spec: { ...body.spec, clusterIP: '10.96.0.10' } });
      });
      const watches: Stream[] = [];
      const emptyList = (r: Recorded, res: Parameters<typeof sendJson>[0]): void => {
        if (r.query.get('watch') === 'true') watches.push(openStream(res));
        else
          sendJson(res, 200, {
            apiVersion: 'v1',
            kind: 'List',
            metadata: { resourceVersion: '7' },
            items: [],
          });
      };
      // What the teardown deletes, by name (the driver's Role may not list the namespace).
      fake.on(
        'DELETE',
        /^\/api(s\/apps)?\/v1\/namespaces\/lab\/(statefulsets|services)\//,
        (_r, res) => sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' }),
      );
      for (const [i, p] of PODS.entries())
        fake.on('GET', `${NS}/pods/${p.name}`, (_r, res) =>
          sendJson(res, 200, {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: p.name,
              namespace: 'lab',
              uid: p.uid,
              resourceVersion: String(i + 1),
            },
            spec: { nodeName: p.node, containers: [{ name: 'target', image: 'i' }] },
            status: {
              phase: 'Running',
              podIP: p.ip,
              conditions: [{ type: 'Ready', status: 'True' }],
              containerStatuses: [
                {
                  name: 'target',
                  image: 'i',
                  imageID: '',
                  ready: true,
                  restartCount: 0,
                  state: { running: {} },
                },
              ],
            },
          }),
        );
      // Every other collection (the watches' lists and watches, deleteRun's lists).
      fake.on('GET', /^\/api(s\/[^/]+)?\/v1\/(namespaces\/lab\/)?[a-z]+$/, emptyList);

      const bed = await K8sTestbed.create(
        {
          runId: RUN_ID,
          api,
          image: 'registry.example/halfopen:dev',
          index: 0,
          spec,
          settings: kubeOf(spec),
          fault: FAULT_DEFS['pod-delete'].testbeds.k8s!,
          targetPort: 4222,
        },
        teardowns,
      );

      // The StatefulSet was posted twice: refused (409), then made; the first is left out here.
      const allPosts = fake.calls().filter((c) => c.method === 'POST');
      const refused = allPosts.findIndex((c) => c.path.endsWith('/statefulsets'));
      const posts = allPosts.filter((_c, i) => i !== refused);
      assert.deepEqual(
        posts
          .map((c) => `${c.path} ${(c.body as { metadata: { name: string } }).metadata.name}`)
          .sort(),
        [
          `${NS}/services ${STS}`,
          `${NS}/services ${STS}-pods`,
          `/apis/apps/v1/namespaces/lab/statefulsets ${STS}`,
        ],
      );
      const sts = posts.find((c) => c.path.endsWith('/statefulsets'))!.body as {
        spec: { replicas: number };
      };
      assert.equal(sts.spec.replicas, 2);
      for (const p of PODS)
        assert.ok(
          fake.calls().some((c) => c.method === 'GET' && c.path === `${NS}/pods/${p.name}`),
          `waited for ${p.name}`,
        );
      await waitFor(() => watches.length === 2, 5000, 'the pod and EndpointSlice watches');
      const watchCalls = fake.calls().filter((c) => c.query.get('watch') === 'true');
      assert.deepEqual(
        watchCalls.map((c) => [c.path, c.query.get('labelSelector')]).sort(),
        [
          [`${NS}/pods`, selector],
          [
            '/apis/discovery.k8s.io/v1/namespaces/lab/endpointslices',
            `kubernetes.io/service-name=${STS}`,
          ],
        ].sort(),
      );
      assert.deepEqual(
        bed.sites().map((s) => [s.name, s.address, s.replica, s.peers]),
        [
          [PODS[0]!.name, PODS[0]!.ip, 0, [`${STS}-1.${STS}-pods`]],
          [PODS[1]!.name, PODS[1]!.ip, 1, [`${STS}-0.${STS}-pods`]],
        ],
      );
      assert.deepEqual(bed.clientDial(), { host: `${STS}.lab.svc`, port: 4222 });
      assert.equal(bed.failed(), undefined);

      assert.deepEqual(
        fake
          .calls()
          .filter((c) => c.path.startsWith('/apis/apps/v1/namespaces/lab/statefulsets'))
          .map((c) => c.method),
        ['POST', 'DELETE', 'POST'],
        'the leftover deleted, then created again',
      );
      const before = fake.calls().length;
      assert.deepEqual(await teardowns.runAll(), []);
      // The watches stop first, so nothing they report races the deletion.
      await Promise.all(watches.map((w) => w.closed));
      const after = fake.calls().slice(before);
      // No list at teardown: each object it created, by name, the last created first, its
      // dependents (the StatefulSet's pods) in the background.
      assert.deepEqual(
        after.filter((c) => c.method === 'GET' && !isDiscovery(c)).map((c) => c.path),
        [],
      );
      const deletes = after.filter((c) => c.method === 'DELETE');
      assert.deepEqual(
        deletes.map((c) => c.path),
        [
          `${NS}/services/${STS}-pods`,
          `${NS}/services/${STS}`,
          `/apis/apps/v1/namespaces/lab/statefulsets/${STS}`,
        ],
      );
      assert.ok(
        deletes.every(
          (c) =>
            (c.body as { propagationPolicy?: string } | undefined)?.propagationPolicy ===
              'Background' || c.query.get('propagationPolicy') === 'Background',
        ),
      );
    } finally {
      await teardowns.runAll();
      await fake.close();
    }
  });
});
