/**
 * `halfopen k8s probe`'s readings of what the API shows: kube-proxy's configuration file, Go
 * durations, the eviction toleration admission gives a pod, the node grace period by version, and
 * the flags that feed them into predictions (which must parse back as the run's own flags).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { specFromFlags } from '../src/cli/run.js';
import {
  evictionOf,
  goDurationS,
  kubeProxyConfig,
  nodeGraceFor,
  probeFlags,
} from '../src/testbeds/k8s/probe.js';
import { runFlags } from './helpers.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../src/errors.js';
import { clusterOptions } from '../src/cli/k8s.js';
import { readTimings, withTimings, type ExperimentsDoc } from '../src/testbeds/k8s/plan.js';
import { predict } from '../src/advise/predict.js';
import type { TimelineEntry } from '../src/events.js';
import { POLICY_IN_FORCE_MS } from '../src/faults/network-policy.js';
import { buildResult, type ExperimentResult } from '../src/runner/result.js';
import { validateSpec, type ExperimentSpec } from '../src/scenario/spec.js';
import { encodeOutcome } from '../src/testbeds/k8s/job.js';
import {
  EXPERIMENTS_KEY,
  experimentName,
  RUN_LABEL,
  runName,
  runSelector,
} from '../src/testbeds/k8s/names.js';
import { probeCluster, type ProbeReport } from '../src/testbeds/k8s/probe.js';
import { userNeeds } from '../src/testbeds/k8s/submit.js';
import { waitFor } from './helpers.js';
import {
  FakeApi,
  FakeCluster,
  openStream,
  selects,
  sendJson,
  sendStatus,
  type Recorded,
  type StoredObject,
  type Stream,
} from './k8s-fake-api.js';

describe('k8s probe: what the API shows', () => {
  it("reads kube-proxy's mode and conntrack timeouts (kubeadm's config.conf)", () => {
    const conf = [
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
      'kind: KubeProxyConfiguration',
      'conntrack:',
      '  maxPerCore: null',
      '  tcpCloseWaitTimeout: 1h0m0s',
      '  tcpEstablishedTimeout: 24h0m0s',
      'mode: ipvs',
    ].join('\n');
    assert.deepEqual(kubeProxyConfig(conf), {
      mode: 'ipvs',
      conntrack_established_s: 86_400,
      conntrack_close_wait_s: 3600,
      source: 'kube-system/kube-proxy ConfigMap (config.conf)',
    });
    // kubeadm writes an empty mode: the platform's default, iptables on Linux.
    assert.match(kubeProxyConfig('mode: ""\n').mode ?? '', /^iptables/);
    assert.equal(kubeProxyConfig('mode: ""\n').conntrack_established_s, null);
  });

  it("reads Go's durations", () => {
    assert.equal(goDurationS('24h0m0s'), 86_400);
    assert.equal(goDurationS('1h'), 3600);
    assert.equal(goDurationS('90s'), 90);
    assert.equal(goDurationS('1m30.5s'), 90.5);
    for (const bad of ['', 'soon', 3600, null]) assert.equal(goDurationS(bad), null, String(bad));
  });

  it("takes the eviction delay from the pod's toleration for an unreachable node", () => {
    const pod: V1Pod = {
      spec: {
        containers: [],
        tolerations: [
          {
            key: 'node.kubernetes.io/not-ready',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 300,
          },
          {
            key: 'node.kubernetes.io/unreachable',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds: 120,
          },
        ],
      },
    };
    assert.equal(evictionOf(pod), 120);
    assert.equal(evictionOf({ spec: { containers: [] } }), null);
  });

  it('assumes the node grace period by version (50 s from 1.32)', () => {
    assert.equal(nodeGraceFor(31), 40);
    assert.equal(nodeGraceFor(32), 50);
    assert.equal(nodeGraceFor(34), 50);
  });

  it('prints flags that a k8s run takes back as its settings', () => {
    const flags = probeFlags({ endpoint_lag_ms: 812.4, eviction_s: 120, node_grace_s: 50 });
    assert.deepEqual(flags, ['--endpoint-lag 812ms', '--node-grace 50s', '--eviction 120s']);
    const given: Record<string, string> = {};
    for (const f of flags) {
      const [flag, value] = f.split(' ');
      given[flag!.slice(2).replace(/-(.)/g, (_m, c: string) => c.toUpperCase())] = value!;
    }
    const spec = specFromFlags(
      runFlags({ testbed: 'k8s', target: 'tcp', fault: 'pod-delete', ...given }),
    );
    assert.deepEqual(spec.kube?.delays, {
      endpoint_lag: 812,
      node_grace: 50_000,
      eviction: 120_000,
    });
    assert.deepEqual(probeFlags({ endpoint_lag_ms: null, eviction_s: null, node_grace_s: 40 }), [
      '--node-grace 40s',
    ]);
  });
});

describe("k8s probe's timings fed back (--timings)", () => {
  it("sets the delays a run does not set itself, from probe --json's output", () => {
    const dir = mkdtempSync(join(tmpdir(), 'halfopen-timings-'));
    try {
      const file = join(dir, 'probe.json');
      writeFileSync(
        file,
        JSON.stringify({
          server: 'x',
          endpoint_lag_ms: 640.2,
          node_grace_s: 50,
          eviction_s: 120,
          flags: [],
        }),
      );
      const t = readTimings(file);
      assert.deepEqual(t, { endpoint_lag_ms: 640.2, node_grace_s: 50, eviction_s: 120 });
      // A delay given on the command line wins over the measured one.
      const spec = specFromFlags(
        runFlags({ testbed: 'k8s', target: 'tcp', fault: 'pod-delete', eviction: '30s' }),
      );
      assert.deepEqual(withTimings(spec, t).kube?.delays, {
        endpoint_lag: 640,
        node_grace: 50_000,
        eviction: 30_000,
      });
      writeFileSync(file, '{"server": "x"}');
      assert.throws(() => readTimings(file), BadInputError);
      assert.throws(() => readTimings(join(dir, 'missing.json')), /cannot read --timings/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is a k8s flag: refused on another testbed', () => {
    assert.throws(
      () => clusterOptions({ timings: 'probe.json' }, 1, false),
      (e: Error) =>
        e instanceof BadInputError && /--timings applies to --testbed k8s only/.test(e.message),
    );
  });
});

// ---------------------------------------------------------------------------------------------

const IMAGE = 'registry.example/halfopen:0.1.0';
const NS = '/api/v1/namespaces/lab';
const CONFIGMAPS = `${NS}/configmaps`;
const PODS = `${NS}/pods`;
const SERVICES = `${NS}/services`;
const STATEFULSETS = '/apis/apps/v1/namespaces/lab/statefulsets';
const JOBS = '/apis/batch/v1/namespaces/lab/jobs';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/lab/endpointslices';
const RBAC = '/apis/rbac.authorization.k8s.io/v1/namespaces/lab';
const SSAR = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
const KUBE_PROXY = '/api/v1/namespaces/kube-system/configmaps';
/** The probe's own run (its endpoint measurement); the policy experiment picks its own id. */
const RUN_ID = '4242-prob';
const STS = experimentName(RUN_ID, 0);
const VICTIM = `${STS}-1`;
/** Where an Indexed Job's pod carries its index. */
const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';

const line = (c: Recorded): string => `${c.method} ${c.path}`;
const nameOf = (c: Recorded): string => (c.body as StoredObject).metadata.name;

/** A target pod as the kubelet reports it once it runs: Running, its one container ready. */
function targetPod(name: string, labels: Record<string, string>, ip: string): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      containers: [{ name: 'target', image: IMAGE }],
      // What the DefaultTolerationSeconds admission plugin adds (300 s by default; a cluster may
      // set another, which is what the probe reads). Pod 1's is left out: only pod 0's is read.
      ...(name.endsWith('-0')
        ? {
            tolerations: [
              {
                key: 'node.kubernetes.io/not-ready',
                operator: 'Exists',
                effect: 'NoExecute',
                tolerationSeconds: 300,
              },
              {
                key: 'node.kubernetes.io/unreachable',
                operator: 'Exists',
                effect: 'NoExecute',
                tolerationSeconds: 120,
              },
            ],
          }
        : {}),
    },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'target',
          image: IMAGE,
          imageID: '',
          ready: true,
          restartCount: 0,
          state: { running: {} },
        },
      ],
    },
  };
}

/** The Service's EndpointSlice, both pods' endpoints; the victim's as `victim` says. */
function slice(victim: { ready: boolean; terminating: boolean }): StoredObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${STS}-x9z2k`,
      labels: { 'kubernetes.io/service-name': STS },
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['10.244.1.7'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', name: `${STS}-0` },
      },
      {
        addresses: ['10.244.2.9'],
        conditions: { ...victim, serving: victim.ready },
        targetRef: { kind: 'Pod', name: VICTIM },
      },
    ],
    ports: [{ name: 'target', port: 4000, protocol: 'TCP' }],
  };
}

/**
 * A network-policy result as a driver would report it: a publishing client whose messages still
 * reach the sink after the policy should be in force, and that noticed nothing.
 */
function notInForceResult(spec: ExperimentSpec): ExperimentResult {
  const at = (ms: number): bigint => BigInt(Math.round((10_000 + ms) * 1e6));
  const inForce = 40 + POLICY_IN_FORCE_MS;
  const timeline: TimelineEntry[] = [
    { t: at(-2000), src: 'client', type: 'connected', attempt: 1 },
    { t: at(0), src: 'lab', type: 'fault', name: 'network-policy', phase: 'start' },
    { t: at(40), src: 'lab', type: 'fault', name: 'network-policy', phase: 'applied' },
    { t: at(inForce + 90), src: 'client', type: 'sent', seq: 3 },
    { t: at(inForce + 100), src: 'sink', type: 'recv', seq: 3 },
  ];
  const result = buildResult({
    spec,
    prediction: predict(spec),
    entries: timeline,
    counters: {},
    targetVersion: 'halfopen tcp server',
    clientLibrary: 'node:net',
    flow: null,
  });
  return { ...result, timeline };
}

/** The labels a StatefulSet's or a Job's pods get: its pod template's. */
const templateLabels = (obj: StoredObject): Record<string, string> =>
  (obj.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
    .labels;

interface ProbeRun {
  report: ProbeReport;
  fake: FakeApi;
  cluster: FakeCluster;
  /** The policy experiment's run id (it picks its own). */
  policyRun: string;
  /** From the test seeing the victim's DELETE recorded to the probe closing its watch. */
  afterDeleteMs: number;
}

/**
 * `probeCluster` against a fake cluster that plays the controllers' parts: the StatefulSet's pods
 * (Running and Ready at once) and its Service's EndpointSlice (both endpoints ready) appear when
 * they are created; the Job's driver pod, Succeeded with its outcome, when the Job is; and, once
 * the victim's DELETE has reached the server and the probe's EndpointSlice watch is open, the
 * EndpointSlice controller's update: the victim's endpoint terminating.
 */
async function probeAgainstFake(
  opts: {
    kubeProxy: 'readable' | 'forbidden';
    minor: string;
    /** The API server answers the victim's DELETE late: its endpoint's change is seen first. */
    slowDeleteAnswer?: boolean;
  },
  check: (run: ProbeRun) => void,
): Promise<void> {
  const fake = await FakeApi.start();
  try {
    // Routes answer in the order they were registered: these go before FakeCluster's own.
    fake.on('GET', '/version', (_r, res) =>
      sendJson(res, 200, {
        major: '1',
        minor: opts.minor,
        gitVersion: `v1.${opts.minor.replace('+', '')}.3`,
        gitCommit: 'abc',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.23',
        compiler: 'gc',
        platform: 'linux/amd64',
      }),
    );
    if (opts.kubeProxy === 'forbidden')
      fake.on('GET', `${KUBE_PROXY}/kube-proxy`, (_r, res) =>
        sendStatus(
          res,
          403,
          'Forbidden',
          'configmaps "kube-proxy" is forbidden: User "tester" cannot get resource "configmaps" in API group "" in the namespace "kube-system"',
        ),
      );
    // The EndpointSlice collection: its list from the store, its watches held open for the test
    // (FakeCluster would answer a watch as a list).
    const watches: Stream[] = [];
    fake.on('GET', SLICES, (r, res) => {
      if (r.query.get('watch') === 'true') {
        watches.push(openStream(res));
        return;
      }
      const selector = r.query.get('labelSelector') ?? '';
      const items = [...cluster.objects]
        .filter(([p, o]) => p.startsWith(`${SLICES}/`) && selects(selector, o.metadata.labels))
        .map(([, o]) => o);
      sendJson(res, 200, {
        kind: 'List',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items,
      });
    });
    const terminating = (): void => {
      assert.ok(watches[0], 'the EndpointSlice watch is open');
      watches[0].event('MODIFIED', slice({ ready: false, terminating: true }));
    };
    if (opts.slowDeleteAnswer)
      fake.on(
        'DELETE',
        `${PODS}/${VICTIM}`,
        async (_r, res) => {
          // The probe watches before it deletes (see the request order's assertions).
          terminating();
          // Not synchronisation: the answer's latency is the case tested. An answer that still
          // came first would give a lag as well (just not this case).
          await new Promise((r) => setTimeout(r, 200));
          cluster.objects.delete(`${PODS}/${VICTIM}`);
          sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 200 });
        },
        1,
      );
    // After the routes above (which use it only once requests come).
    const cluster = new FakeCluster(fake);
    if (opts.kubeProxy === 'readable')
      cluster.put(KUBE_PROXY, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-proxy' },
        data: {
          'config.conf': [
            'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
            'kind: KubeProxyConfiguration',
            'conntrack:',
            '  tcpCloseWaitTimeout: 1h0m0s',
            '  tcpEstablishedTimeout: 24h0m0s',
            'mode: ipvs',
          ].join('\n'),
        },
      });
    cluster.onCreate = (collection, obj) => {
      // The StatefulSet controller and the kubelet: both pods, with the template's labels.
      if (collection === STATEFULSETS) {
        const labels = templateLabels(obj);
        cluster.put(PODS, targetPod(`${obj.metadata.name}-0`, labels, '10.244.1.7'));
        cluster.put(PODS, targetPod(`${obj.metadata.name}-1`, labels, '10.244.2.9'));
      }
      // The EndpointSlice controller: the Service's slice (the headless one's is not read).
      if (collection === SERVICES && obj.metadata.name === STS)
        cluster.put(SLICES, slice({ ready: true, terminating: false }));
      // The Job controller and the kubelet: the policy experiment's driver, done, with its outcome.
      if (collection === JOBS) {
        const runId = obj.metadata.labels?.[RUN_LABEL] ?? '';
        const anchor = cluster.get(`${CONFIGMAPS}/${runName(runId)}`) as StoredObject & {
          data: Record<string, string>;
        };
        const doc = JSON.parse(anchor.data[EXPERIMENTS_KEY]!) as ExperimentsDoc;
        const spec = validateSpec(doc.experiments[0]!);
        const name = `${runName(runId)}-0-x7k0q`;
        const template = templateLabels(obj);
        cluster.put(PODS, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name,
            labels: { ...template, 'job-name': runName(runId), [INDEX_KEY]: '0' },
            annotations: { [INDEX_KEY]: '0' },
          },
          spec: { containers: [{ name: 'driver', image: IMAGE }] },
          status: { phase: 'Succeeded' },
        });
        const outcome = encodeOutcome({ index: 0, result: notInForceResult(spec), wallMs: 21_000 });
        cluster.logs.set(name, `deploying ho-target\n${outcome}\nremoving ho-target\n`);
      }
    };

    const probing = probeCluster({
      runId: RUN_ID,
      image: IMAGE,
      nodeAccess: false,
      parallel: 1,
      kubeconfig: fake.kubeconfig(),
      signal: new AbortController().signal,
    });
    let ended = false;
    void probing.then(
      () => (ended = true),
      () => (ended = true),
    );
    // The EndpointSlice controller's update, only once the DELETE has reached the server (so the
    // lag it gives is the probe's, from the DELETE, not an earlier change) and the watch is open.
    const watch = await waitFor(
      () => {
        if (ended) return 'ended';
        const deleted = fake.calls().some((r) => line(r) === `DELETE ${PODS}/${VICTIM}`);
        return deleted && watches.length > 0 ? watches[0]! : null;
      },
      10_000,
      () =>
        `the victim's DELETE and the EndpointSlice watch (${fake.calls().map(line).join(', ')})`,
      5,
    );
    const seen = performance.now();
    if (watch !== 'ended' && !opts.slowDeleteAnswer) terminating();
    // The probe stops its watch as soon as it sees the change: when it closes bounds the lag.
    const closedAt = watches[0]?.closed.then(() => performance.now());
    const report = await probing;
    const afterDeleteMs = (await closedAt)! - seen;
    assert.equal(watches.length, 1, 'one watch, not resumed');
    const policyRun = fake
      .calls()
      .filter((r) => r.method === 'POST' && r.path === CONFIGMAPS)
      .map((r) => (r.body as StoredObject).metadata.labels![RUN_LABEL]!)
      .find((id) => id !== RUN_ID);
    assert.ok(policyRun, "the policy experiment's anchor was created");
    check({ report, fake, cluster, policyRun, afterDeleteMs });
  } finally {
    await fake.close();
  }
}

/** Every object a run created (by the probe, or by its "controllers" from it) is gone. */
function assertGone(cluster: FakeCluster, runId: string): void {
  assert.deepEqual(cluster.pathsOf(runSelector(runId)), [], `nothing of run ${runId} is left`);
}

describe('k8s probe against the fake API, request by request', () => {
  it('reads version and kube-proxy, times the endpoint from the DELETE, runs the policy experiment, deletes both runs', async () => {
    await probeAgainstFake({ kubeProxy: 'readable', minor: '32+' }, (run) => {
      const { report, fake, cluster, policyRun } = run;
      assert.equal(report.server, fake.url);
      assert.equal(report.version, 'v1.32.3');
      // "32+" (as managed clusters write it) is 1.32: the 50 s default.
      assert.equal(report.node_grace_s, 50);
      assert.deepEqual(report.kube_proxy, {
        mode: 'ipvs',
        conntrack_established_s: 86_400,
        conntrack_close_wait_s: 3600,
        source: 'kube-system/kube-proxy ConfigMap (config.conf)',
      });
      assert.equal(report.eviction_s, 120);
      // From the DELETE's answer to the MODIFIED event: the answer left after the DELETE reached
      // the server, and the probe closed its watch once it saw the event, so the lag is within
      // the test's own time between the two (plus its 5 ms poll): not from an earlier moment.
      assert.equal(typeof report.endpoint_lag_ms, 'number');
      const lag = report.endpoint_lag_ms!;
      assert.ok(lag >= 0, `lag ${lag} ms`);
      assert.ok(lag <= run.afterDeleteMs + 10, `lag ${lag} ms, ${run.afterDeleteMs} ms after`);
      assert.equal(report.policy, 'judges new connections only');
      assert.match(report.policy_detail, /messages still crossed/);
      assert.deepEqual(report.flags, [
        `--endpoint-lag ${Math.round(lag)}ms`,
        '--node-grace 50s',
        '--eviction 120s',
      ]);
      assertProbeRequests(run);
      assertGone(cluster, RUN_ID);
      assertGone(cluster, policyRun);
      // What is left is what the test put there as the cluster's: kube-proxy's configuration and
      // the EndpointSlice (the garbage collector's to delete with its Service; the fake has none).
      assert.deepEqual([...cluster.objects.keys()].sort(), [
        `${KUBE_PROXY}/kube-proxy`,
        `${SLICES}/${STS}-x9z2k`,
      ]);
      assert.deepEqual(fake.unmatched, []);
    });
  });

  it("goes on when kube-proxy's ConfigMap is not readable (403), and says why", async () => {
    await probeAgainstFake({ kubeProxy: 'forbidden', minor: '31' }, (run) => {
      const { report, cluster, policyRun } = run;
      assert.equal(report.version, 'v1.31.3');
      assert.equal(report.node_grace_s, 40);
      assert.equal(report.kube_proxy.mode, null);
      assert.equal(report.kube_proxy.conntrack_established_s, null);
      assert.equal(report.kube_proxy.conntrack_close_wait_s, null);
      assert.match(
        report.kube_proxy.source,
        /^not readable: .*configmaps\/kube-proxy in kube-system/,
      );
      assert.match(report.kube_proxy.source, /forbidden/);
      // The rest as when it is readable.
      assert.equal(typeof report.endpoint_lag_ms, 'number');
      assert.equal(report.eviction_s, 120);
      assert.equal(report.policy, 'judges new connections only');
      assert.deepEqual(report.flags.slice(1), ['--node-grace 40s', '--eviction 120s']);
      assertProbeRequests(run);
      assertGone(cluster, RUN_ID);
      assertGone(cluster, policyRun);
    });
  });
});

describe('k8s probe: an endpoint change seen before the DELETE is answered', () => {
  // Missed, the probe would wait its 60 s for a change that already happened, and report none.
  it(
    'counts (lag 0) rather than being missed until the wait gives up',
    { timeout: 10_000 },
    async () => {
      await probeAgainstFake(
        { kubeProxy: 'readable', minor: '32', slowDeleteAnswer: true },
        (run) => {
          assert.equal(run.report.endpoint_lag_ms, 0);
          assert.equal(run.report.flags[0], '--endpoint-lag 0ms');
          assertProbeRequests(run);
        },
      );
    },
  );
});

/** The probe's requests, in order: the reads it starts with, and every write. */
function assertProbeRequests({ fake, policyRun }: ProbeRun): void {
  const calls = fake.calls();
  const needs = userNeeds(false);
  // Preflight, the version, kube-proxy's configuration: before anything is created.
  assert.deepEqual(calls.slice(0, needs.length + 3).map(line), [
    `GET ${NS}`,
    ...needs.map(() => `POST ${SSAR}`),
    'GET /version',
    `GET ${KUBE_PROXY}/kube-proxy`,
  ]);
  // Both pods waited for until Running and Ready, then both endpoints ready by a list, before
  // the watch and the deletion.
  const at = (pred: (c: Recorded) => boolean, what: string): number => {
    const i = calls.findIndex(pred);
    assert.ok(i >= 0, what);
    return i;
  };
  const deleteAt = at((c) => line(c) === `DELETE ${PODS}/${VICTIM}`, 'the victim deleted');
  for (const p of [`${STS}-0`, VICTIM])
    assert.ok(at((c) => line(c) === `GET ${PODS}/${p}`, `${p} read`) < deleteAt);
  const sliceGets = calls.filter((c) => line(c) === `GET ${SLICES}`);
  for (const c of sliceGets)
    assert.equal(c.query.get('labelSelector'), `kubernetes.io/service-name=${STS}`);
  // The readiness list, the watch's own list, then the watch.
  assert.deepEqual(
    sliceGets.map((c) => c.query.get('watch') === 'true'),
    [false, false, true],
  );
  const watchAt = calls.indexOf(sliceGets[2]!);
  assert.ok(calls.indexOf(sliceGets[0]!) > at((c) => line(c) === `GET ${PODS}/${VICTIM}`, ''));
  assert.ok(watchAt < deleteAt, 'watching before the deletion');
  // Deleted with its own grace period, as a pod goes in a rollout or an eviction.
  const del = calls[deleteAt]!;
  assert.equal(del.query.get('gracePeriodSeconds'), null);
  assert.equal(
    (del.body as { gracePeriodSeconds?: number } | undefined)?.gracePeriodSeconds,
    undefined,
  );

  // Every write, in order: the probe's target and its deletion by label, then the policy run.
  const writes = calls
    .filter((c) => c.method !== 'GET' && c.path !== SSAR)
    .map((c) => `${line(c)}${c.method === 'POST' ? ` ${nameOf(c)}` : ''}`);
  const policy = runName(policyRun);
  assert.deepEqual(writes, [
    `POST ${CONFIGMAPS} ${runName(RUN_ID)}`,
    `POST ${STATEFULSETS} ${STS}`,
    `POST ${SERVICES} ${STS}`,
    `POST ${SERVICES} ${STS}-pods`,
    `DELETE ${PODS}/${VICTIM}`,
    // deleteRun's order: the StatefulSet first (nothing recreates a pod), the anchor, the pods.
    `DELETE ${STATEFULSETS}/${STS}`,
    `DELETE ${SERVICES}/${STS}`,
    `DELETE ${SERVICES}/${STS}-pods`,
    `DELETE ${CONFIGMAPS}/${runName(RUN_ID)}`,
    `DELETE ${PODS}/${STS}-0`,
    // The policy experiment: submitMatrix's run, its Job deleted first (its driver with it).
    `POST ${CONFIGMAPS} ${policy}`,
    `POST ${NS}/serviceaccounts ${policy}`,
    `POST ${RBAC}/roles ${policy}`,
    `POST ${RBAC}/rolebindings ${policy}`,
    `POST ${JOBS} ${policy}`,
    `DELETE ${JOBS}/${policy}`,
    `DELETE ${CONFIGMAPS}/${policy}`,
    `DELETE ${NS}/serviceaccounts/${policy}`,
    `DELETE ${RBAC}/rolebindings/${policy}`,
    `DELETE ${RBAC}/roles/${policy}`,
  ]);
  // The deletions are by the runs' labels: each list asks for exactly its run.
  for (const c of calls.filter((c) => c.method === 'GET' && c.query.has('labelSelector')))
    if (!c.path.endsWith('/endpointslices') && !c.path.endsWith('/pods'))
      assert.ok(
        [runSelector(RUN_ID), runSelector(policyRun)].includes(c.query.get('labelSelector')!),
        `${c.path}?labelSelector=${c.query.get('labelSelector')}`,
      );
}
